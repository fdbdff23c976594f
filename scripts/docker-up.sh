#!/usr/bin/env bash
# Makes a Docker engine answer on this machine: installs docker.io when missing and starts dockerd.
# Idempotent; used by .ci/run and by developers. Needs root (or sudo).
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v dockerd >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  as_root sh -c 'nohup dockerd >/var/log/ferry-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info --format 'Docker {{.ServerVersion}} ({{.Driver}}, cgroup {{.CgroupVersion}})'
