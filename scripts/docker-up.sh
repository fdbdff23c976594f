#!/usr/bin/env bash
# Makes a Docker engine answer on this machine: installs docker.io (and runsc, gVisor) when missing,
# registers runsc with dockerd and starts dockerd.
# Idempotent; used by .ci/run and by developers. Needs root (or sudo).
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v dockerd >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io >/dev/null
fi
# gVisor (runsc) as an extra runtime, so managed runs can run in it (FERRY_RUNNER_RUNTIME=runsc) and the
# tests can check they do. `runsc install` merges it into daemon.json, which dockerd reads at start and
# on SIGHUP (runtimes are reloadable): a running daemon learns it without a restart.
# Runsc releases before 2024-08 take the container's network namespace for the host's on recent kernels
# ("cannot run with network enabled in root network namespace"): those use the kernel's network stack
# inside the container's own namespace (--network=host), which keeps the network isolation of Docker's
# bridge but not gVisor's own network stack. Debian bookworm's runsc is from 2022.
if ! command -v runsc >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends runsc >/dev/null
fi
runsc_release="$(runsc --version 2>/dev/null | head -n 1 | grep -o '[0-9]\{8\}' | head -n 1 || true)"
runsc_args=()
if [ -n "$runsc_release" ] && [ "$runsc_release" -lt 20240801 ]; then runsc_args=(-- --network=host); fi
as_root mkdir -p /etc/docker
[ -s /etc/docker/daemon.json ] || echo '{}' | as_root tee /etc/docker/daemon.json >/dev/null
before="$(sha256sum </etc/docker/daemon.json)"
as_root runsc install "${runsc_args[@]}" >/dev/null 2>&1
# A running daemon reloads its runtimes on SIGHUP (no restart: other jobs' containers keep running).
if [ "$before" != "$(sha256sum </etc/docker/daemon.json)" ] && docker info >/dev/null 2>&1; then
  as_root kill -HUP "$(pidof dockerd)"
  for _ in $(seq 1 10); do
    docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' && break
    sleep 1
  done
fi
if ! docker info >/dev/null 2>&1; then
  as_root sh -c 'nohup dockerd >/var/log/ferry-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info --format 'Docker {{.ServerVersion}} ({{.Driver}}, cgroup {{.CgroupVersion}}, runtimes: {{range $name, $_ := .Runtimes}}{{$name}} {{end}})'
