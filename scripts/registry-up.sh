#!/usr/bin/env bash
# A local image registry for the image tests (apps/cli/test/images.e2e.test.ts): Debian's
# docker-registry (the CNCF distribution registry) on 127.0.0.1, plain HTTP. Docker treats registries
# on 127.0.0.0/8 as insecure by default, so no TLS and no daemon setting are needed.
#
#   export FERRY_TEST_REGISTRY="$(bash scripts/registry-up.sh)"     # then the tests push there
#
# Prints only the registry's address (host:port) on stdout; progress goes to stderr. The address is
# FERRY_TEST_REGISTRY when it is set (a registry answering there is used as it is); otherwise the one
# this script started before, when it still runs; otherwise a free port on 127.0.0.1. Idempotent.
#
# Installs the package when it is missing (apt-get, as root or through sudo), then starts the registry
# in the background with its own configuration and storage under ${FERRY_REGISTRY_DIR:-/tmp/ferry-registry};
# its log is registry.log there. Stop it with: kill "$(cat /tmp/ferry-registry/registry.pid)".
set -euo pipefail

DIR="${FERRY_REGISTRY_DIR:-/tmp/ferry-registry}"
WANTED="${FERRY_TEST_REGISTRY:-}"

log() { echo "registry-up: $*" >&2; }
answers() { curl -fsS --max-time 2 "http://$1/v2/" >/dev/null 2>&1; }
# Ours, from an earlier call: its pid still runs and its configured address answers.
running_addr() {
  local pid addr
  pid="$(cat "$DIR/registry.pid" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  addr="$(sed -n 's/^  addr: //p' "$DIR/config.yml" 2>/dev/null)"
  [ -n "$addr" ] && answers "$addr" && echo "$addr"
}
# A port nothing listens on now (bash's /dev/tcp is refused there); the start below retries on a race.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

if [ -n "$WANTED" ] && answers "$WANTED"; then
  log "a registry already answers on $WANTED"
  echo "$WANTED"
  exit 0
fi
if current="$(running_addr)"; then
  if [ -z "$WANTED" ] || [ "$WANTED" = "$current" ]; then
    log "the registry started from $DIR answers on $current"
    echo "$current"
    exit 0
  fi
  log "the registry started from $DIR runs on $current, not on FERRY_TEST_REGISTRY=$WANTED: stop it (kill $(cat "$DIR/registry.pid")), unset FERRY_TEST_REGISTRY or set FERRY_REGISTRY_DIR to another folder"
  exit 1
fi

BIN="$(command -v docker-registry || true)"
[ -z "$BIN" ] && [ -x /usr/bin/docker-registry ] && BIN=/usr/bin/docker-registry
if [ -z "$BIN" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian's docker-registry package"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  BIN=/usr/bin/docker-registry
fi

# The package's service is not used (no systemd in containers and CI); this one is ours alone.
mkdir -p "$DIR/storage"
for attempt in 1 2 3 4 5; do
  if [ -n "$WANTED" ]; then
    addr="$WANTED"
  else
    port="$(free_port)" || { log "found no free port on 127.0.0.1"; exit 1; }
    addr="127.0.0.1:$port"
  fi
  cat >"$DIR/config.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $DIR/storage }
  delete: { enabled: true }
http:
  addr: $addr
YAML
  # No inherited stdout: a caller's $(...) would wait for the registry to close it.
  nohup "$BIN" serve "$DIR/config.yml" </dev/null >"$DIR/registry.log" 2>&1 &
  echo $! >"$DIR/registry.pid"
  for _ in $(seq 1 100); do
    if answers "$addr"; then
      log "registry on http://$addr (pid $(cat "$DIR/registry.pid"), storage $DIR/storage)"
      echo "$addr"
      exit 0
    fi
    kill -0 "$(cat "$DIR/registry.pid")" 2>/dev/null || break
    sleep 0.2
  done
  kill "$(cat "$DIR/registry.pid")" 2>/dev/null || true
  # Another process took the port between the probe and the start: try another one.
  if [ -z "$WANTED" ] && grep -qi "address already in use" "$DIR/registry.log"; then
    log "port $port was taken meanwhile (attempt $attempt); trying another"
    continue
  fi
  break
done
log "the registry did not answer on $addr; its log ($DIR/registry.log):"
tail -n 20 "$DIR/registry.log" >&2 || true
exit 1
