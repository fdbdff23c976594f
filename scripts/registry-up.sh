#!/usr/bin/env bash
# A local image registry for the image tests (apps/cli/test/images.e2e.test.ts): Debian's
# docker-registry (the CNCF distribution registry) on 127.0.0.1:5000, plain HTTP. Docker treats
# registries on 127.0.0.0/8 as insecure by default, so no TLS and no daemon setting are needed.
#
#   bash scripts/registry-up.sh        # idempotent: does nothing when a registry already answers
#
# Installs the package when it is missing (apt-get, as root or through sudo), then starts the registry
# in the background with its own configuration and storage under ${FERRY_REGISTRY_DIR:-/tmp/ferry-registry};
# its log is registry.log there. Stop it with: kill "$(cat /tmp/ferry-registry/registry.pid)".
set -euo pipefail

ADDR="${FERRY_REGISTRY_ADDR:-127.0.0.1:5000}"
DIR="${FERRY_REGISTRY_DIR:-/tmp/ferry-registry}"

answers() { curl -fsS --max-time 2 "http://$ADDR/v2/" >/dev/null 2>&1; }

if answers; then
  echo "registry-up: a registry already answers on $ADDR"
  exit 0
fi

BIN="$(command -v docker-registry || true)"
[ -z "$BIN" ] && [ -x /usr/bin/docker-registry ] && BIN=/usr/bin/docker-registry
if [ -z "$BIN" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "registry-up: installing Debian's docker-registry package"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  BIN=/usr/bin/docker-registry
fi

# The package's service is not used (no systemd in containers and CI); this one is ours alone.
mkdir -p "$DIR/storage"
cat >"$DIR/config.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $DIR/storage }
  delete: { enabled: true }
http:
  addr: $ADDR
YAML
nohup "$BIN" serve "$DIR/config.yml" >"$DIR/registry.log" 2>&1 &
echo $! >"$DIR/registry.pid"

for _ in $(seq 1 50); do
  if answers; then
    echo "registry-up: registry on http://$ADDR (pid $(cat "$DIR/registry.pid"), storage $DIR/storage)"
    exit 0
  fi
  if ! kill -0 "$(cat "$DIR/registry.pid")" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "registry-up: the registry did not answer on $ADDR; its log ($DIR/registry.log):" >&2
tail -n 20 "$DIR/registry.log" >&2 || true
exit 1
