#!/usr/bin/env bash
# Builds ferry-server:latest (the server image deploy/compose.yaml and deploy/kubernetes run) from the
# local base image: packs the workspace packages the server needs (@ferry/core, @ferry/managed-runner,
# @ferry/server, @ferry/cli), installs them with their production dependencies into a stage in ~/.cache/ferry
# with the host's npm cache, and runs docker build (deploy/server/Dockerfile) on that stage. Nothing is pulled: the base
# image must be in the local Docker engine already (scripts/build-base-image.sh makes ferry-base:bookworm).
#
# Skipped when the image exists and was built from the same recipe (this script, the Dockerfile, the
# proxy and every staged file, hashed into a label); --force rebuilds anyway.
#
#   BASE_IMAGE=ferry-base:bookworm IMAGE=ferry-server:latest deploy/server/build-image.sh [--force]
set -euo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
DIR="$(dirname "$SELF")"
ROOT="$(cd "$DIR/../.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-ferry-base:bookworm}"
IMAGE="${IMAGE:-ferry-server:latest}"
LABEL=ferry.server-image.recipe
log() { echo "[server image] $*" >&2; }
start=$SECONDS

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "the base image $BASE_IMAGE is not in the local Docker engine; build it with scripts/build-base-image.sh" >&2
  exit 1
fi

cd "$ROOT"
# Cached by turbo when nothing changed (CI has built everything just before).
npx turbo run build --filter=@ferry/server --filter=@ferry/cli --output-logs=errors-only >/dev/null

# In the cache CI keeps between runs (as scripts/build-base-image.sh's npm tarball): the third-party
# packages of the last build stay, npm only adds what changed, and the @ferry/* packages (and the lock
# files that would pin their old tarballs) are installed afresh each time.
STAGE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/server-image-stage"
rm -rf "$STAGE/packs" "$STAGE/proxy.mjs" "$STAGE/app/package-lock.json" "$STAGE/app/node_modules/@ferry" "$STAGE/app/node_modules/.package-lock.json"
mkdir -p "$STAGE/packs" "$STAGE/app"
deps=()
for ws in packages/core packages/managed-runner packages/server apps/cli; do
  file="$(npm pack --silent -w "$ws" --pack-destination "$STAGE/packs" | tail -n 1)"
  name="$(node -p 'require(process.argv[1]).name' "$ROOT/$ws/package.json")"
  deps+=("\"$name\": \"file:../packs/$file\"")
done
# @ferry/core names vitest as an optional peer (its testing helpers): --legacy-peer-deps installs no peer.
# The packed tarballs satisfy each other's "0.1.0" dependencies, so no @ferry/* package is fetched.
(IFS=,; printf '{"name":"ferry-server-image","private":true,"dependencies":{%s}}\n' "${deps[*]}") >"$STAGE/app/package.json"
(cd "$STAGE/app" && npm install --omit=dev --legacy-peer-deps --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$STAGE/packs"
cp "$DIR/proxy.mjs" "$STAGE/proxy.mjs"
log "staged $(du -sh "$STAGE/app/node_modules" | cut -f1) of node_modules in $((SECONDS - start)) s"

RECIPE="$({
  cat "$SELF" "$DIR/Dockerfile" "$DIR/proxy.mjs"
  docker image inspect "$BASE_IMAGE" --format '{{.Id}}'
  (cd "$STAGE/app" && find . -type f ! -name package-lock.json -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-16)"
if [ "${1:-}" != "--force" ] &&
  [ "$(docker image inspect "$IMAGE" --format "{{index .Config.Labels \"$LABEL\"}}" 2>/dev/null)" = "$RECIPE" ]; then
  echo "$IMAGE exists (recipe $RECIPE)"
  exit 0
fi

docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$LABEL=$RECIPE" -t "$IMAGE" -f "$DIR/Dockerfile" "$STAGE" >/dev/null
echo "built $IMAGE from $BASE_IMAGE in $((SECONDS - start)) s ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1000000}'))"
