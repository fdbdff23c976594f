#!/usr/bin/env bash
# Builds ferry-engine:latest from the local base image: builds the engine bundle, stages its runtime
# dependency (esbuild and its linux-x64 binary) next to it, and the blob-source readers of the
# workspace's provider packages (each package whose exports have "./source", bundled with its SDK by
# scripts/bundle-source-modules.mjs) so runs from s3://, gs:// or Azure Blob sources work in the image,
# and runs docker build with this package as the context. Nothing is pulled: the base image must be in the local Docker engine already
# (scripts/build-base-image.sh at the repository root makes ferry-base:bookworm).
#
#   BASE_IMAGE=ferry-base:bookworm IMAGE=ferry-engine:latest packages/engine/scripts/build-image.sh
set -euo pipefail
PKG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-ferry-base:bookworm}"
IMAGE="${IMAGE:-ferry-engine:latest}"

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "the base image $BASE_IMAGE is not in the local Docker engine; build it with scripts/build-base-image.sh" >&2
  exit 1
fi

cd "$PKG_DIR"
npm run build --silent

# esbuild as npm installed it for this workspace (hoisted or not), with the binary package it loads.
ESBUILD_DIR="$(node -e 'const p=require("path");console.log(p.dirname(require.resolve("esbuild/package.json")))')"
ESBUILD_VERSION="$(node -p 'require(process.argv[1]).version' "$ESBUILD_DIR/package.json")"
BINARY_DIR="$(cd "$ESBUILD_DIR" && node -e 'const p=require("path");console.log(p.dirname(require.resolve("@esbuild/linux-x64/package.json")))')"
BINARY_VERSION="$(node -p 'require(process.argv[1]).version' "$BINARY_DIR/package.json")"
if [ "$ESBUILD_VERSION" != "$BINARY_VERSION" ]; then
  echo "esbuild $ESBUILD_VERSION and @esbuild/linux-x64 $BINARY_VERSION differ; run npm ci" >&2
  exit 1
fi
rm -rf .image-deps
mkdir -p .image-deps/node_modules/@esbuild
cp -RL "$ESBUILD_DIR" .image-deps/node_modules/esbuild
cp -RL "$BINARY_DIR" .image-deps/node_modules/@esbuild/linux-x64

# The engine imports a blob source's reader by its package's name ("<package>/source"): stage each one.
SOURCE_PACKAGES="$(cd "$PKG_DIR/../.." && npm query .workspace | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).filter((p)=>p.exports&&p.exports["./source"]).map((p)=>`--filter=${p.name}...`).join(" ")))')"
if [ -n "$SOURCE_PACKAGES" ]; then
  # shellcheck disable=SC2086 # one --filter per package
  (cd "$PKG_DIR/../.." && npx turbo run build --output-logs=errors-only $SOURCE_PACKAGES)
fi
(cd "$PKG_DIR/../.." && node "$PKG_DIR/scripts/bundle-source-modules.mjs" "$ESBUILD_DIR" "$PKG_DIR/.image-deps")

docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$PKG_DIR"
echo "built $IMAGE from $BASE_IMAGE ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1000000}'))"
