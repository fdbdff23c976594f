#!/usr/bin/env bash
# Builds ferry-postgres:15 (deploy/compose.yaml's database) from the local base image with Debian's
# postgresql package; apt reaches Debian's mirror through the host's network (--network host), as
# scripts/build-base-image.sh's debootstrap does. Skipped when the image exists and was built from the same
# recipe (these files and the base image, hashed into a label); --force rebuilds anyway.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE_IMAGE="${BASE_IMAGE:-ferry-base:bookworm}"
IMAGE="${IMAGE:-ferry-postgres:15}"
LABEL=ferry.postgres-image.recipe
start=$SECONDS
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "the base image $BASE_IMAGE is not in the local Docker engine; build it with scripts/build-base-image.sh" >&2
  exit 1
fi
RECIPE="$({ cat "$DIR/build-image.sh" "$DIR/Dockerfile" "$DIR/entrypoint.sh"; docker image inspect "$BASE_IMAGE" --format '{{.Id}}'; } | sha256sum | cut -c1-16)"
if [ "${1:-}" != "--force" ] &&
  [ "$(docker image inspect "$IMAGE" --format "{{index .Config.Labels \"$LABEL\"}}" 2>/dev/null)" = "$RECIPE" ]; then
  echo "$IMAGE exists (recipe $RECIPE)"
  exit 0
fi
docker build --quiet --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$LABEL=$RECIPE" -t "$IMAGE" "$DIR" >/dev/null
echo "built $IMAGE from $BASE_IMAGE in $((SECONDS - start)) s ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1000000}'))"
