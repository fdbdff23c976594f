#!/usr/bin/env bash
# Everything managed runs need from Docker, without a registry: a Docker engine, the Debian base image
# (debootstrap) and the engine image built on it. Idempotent; run from the repository root after
# `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/docker-up.sh
bash scripts/build-base-image.sh
npx turbo run build --filter=@ferry/engine >/dev/null
bash packages/engine/scripts/build-image.sh
