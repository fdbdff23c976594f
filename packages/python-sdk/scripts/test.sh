#!/usr/bin/env bash
# The Python SDK's tests against a real Ferry server: a venv from this machine's python3 with pytest
# (pip's configured index; a local one on CI), the SDK from src on PYTHONPATH, and `ferry server start` on
# the embedded PGlite store with the process backend (no Docker), on a free port, in a temporary
# FERRY_HOME whose 'local' profile the tests use. Arguments go to pytest (`-m e2e` for the Docker tests).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
cli="$root/apps/cli/dist/ferry.js"
venv="$here/.venv"

[ -f "$cli" ] || { echo "the CLI is not built ($cli): run 'npx turbo run build' first" >&2; exit 1; }
[ -f "$root/packages/engine/dist/shims/run-flow.py" ] || { echo "the engine is not built: run 'npx turbo run build' first" >&2; exit 1; }

if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  # One retry: where only a local index answers (this machine, CI), pip's default index is not retried for minutes.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 1 pytest
fi
# The SDK from its source: nothing to build or install, and what is tested is what the engine ships.
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"

work="$(mktemp -d "${TMPDIR:-/tmp}/ferry-python-sdk.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The machine's own Ferry settings must not reach the server or the tests.
for v in $(env | sed -n 's/^\(FERRY_[A-Z_]*\)=.*/\1/p'); do
  case "$v" in FERRY_TEST_*) ;; *) unset "$v" ;; esac
done
export FERRY_HOME="$work/home"
# The images the tests name on the managed pool (a managed pool takes only the engine image and these).
FERRY_ALLOWED_IMAGES="registry.example.com/team/etl:v1,127.0.0.1:5000/etl:v1" \
FERRY_RUNNER=process FERRY_STORE=pglite FERRY_LOG_LEVEL=warn FERRY_WARM_ENGINES=0 FERRY_SHUTDOWN_GRACE_MS=2000 \
  node "$cli" server start --port 0 >"$work/server.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 240); do
  url="$(sed -n 's/.*Ferry server listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the Ferry server exited before it listened:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "the Ferry server did not start within 120 s:" >&2; cat "$work/server.log" >&2; exit 1; }
# Printed in bold on a terminal: strip any escape codes.
url="$(printf '%s' "$url" | sed 's/\x1b\[[0-9;]*m//g')"

export FERRY_TEST_SERVER_URL="$url"
export FERRY_TEST_SERVER_LOG="$work/server.log"
export FERRY_CLI="node $cli"
cd "$here"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
  echo "--- the server's log (last 60 lines)" >&2
  tail -n 60 "$work/server.log" >&2
fi
# 5: no test was selected (e.g. -m e2e with no e2e test here): not a failure.
[ "$status" -eq 5 ] && status=0
exit "$status"
