#!/usr/bin/env bash
# Builds the base image managed runs start from, without any container registry: a Debian root
# filesystem made by debootstrap (Python 3 with pip and venv, git, Node.js and npm), imported into the
# local Docker engine as ferry-base:bookworm. Skipped when the image exists (pass --force to rebuild).
set -euo pipefail
IMAGE="${FERRY_BASE_IMAGE:-ferry-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE exists"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >/dev/null
fi
ROOT=$(mktemp -d /tmp/ferry-rootfs.XXXXXX)
trap 'as_root rm -rf "$ROOT"' EXIT
echo "debootstrap bookworm into $ROOT (about a minute)"
as_root debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,git,ca-certificates \
  bookworm "$ROOT" "$MIRROR" >/tmp/ferry-debootstrap.log 2>&1 || { tail -n 30 "$ROOT/debootstrap/debootstrap.log" 2>/dev/null || tail -n 30 /tmp/ferry-debootstrap.log; exit 1; }
# debootstrap's own resolver leaves some of npm's dependencies out: apt inside the root resolves them.
as_root cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
as_root chroot "$ROOT" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm' \
  >>/tmp/ferry-debootstrap.log 2>&1 || { tail -n 30 /tmp/ferry-debootstrap.log; exit 1; }
as_root rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
as_root tar -C "$ROOT" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "built $IMAGE"
