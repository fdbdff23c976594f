#!/usr/bin/env bash
# Installs code-server (the npm package, pinned) into a per-machine cache directory, outside the repo,
# for the VS Code extension's end-to-end tests (apps/vscode-extension/e2e).
#
#   bash scripts/install-code-server.sh        # prints progress, then the command that starts code-server
#
# Directory: ${FERRY_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/code-server-4.100.3}
# Idempotent: a finished install leaves a marker file (written last); a re-run then only prints the command.
#
# code-server is an editor with a runtime of its own, as VS Code desktop has Electron's: 4.100.3 runs on
# Node.js 20 (its engines.node), so it gets a pinned Node.js 20, fetched by scripts/node.sh like the
# project's Node.js 24, whatever `node` is first on PATH. It is started with that Node explicitly: the
# marker file is JSON naming it ({"node": ..., "entry": ...}), which the e2e harness reads.
# Staying on 4.100.3 (VS Code 1.100) keeps the editor's Node at 20, the Node of the oldest VS Code the
# extension declares (engines.vscode ^1.90.0: Electron 29, Node 20.9), which its bundle targets.
#
# Needs (Debian): npm (to fetch Node.js 20 once), build-essential, python3, ripgrep and libkrb5-dev
# (code-server's lib/vscode builds node-pty, kerberos, spdlog... with node-gyp, against the headers
# that come with the fetched Node.js). Only the npm registry is reached: the prebuilt downloads that
# some dependencies try first fail and they fall back to building from source; @vscode/ripgrep's
# download is served from a cache seeded with Debian's rg.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# The Node.js code-server 4.100.3 runs on (engines.node "20"). Change together with CODE_SERVER_VERSION.
CODE_SERVER_NODE_VERSION=20.20.2
# Pinned by code-server 4.100.3's lib/vscode/npm-shrinkwrap.json (@vscode/ripgrep 1.15.11) and that
# package's lib/postinstall.js (VERSION = 'v13.0.0-10'). Change together with CODE_SERVER_VERSION.
VSCODE_RIPGREP_VERSION=1.15.11
RIPGREP_PREBUILT_VERSION=v13.0.0-10

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${FERRY_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/code-server-$CODE_SERVER_VERSION}"
MARKER="$DIR/.ferry-install-complete"
SENTINEL_NAME=".ferry-code-server-dir"
ENTRY="$DIR/node_modules/code-server/out/node/entry.js"

log() { echo "[install-code-server] $*" >&2; }
die() {
  echo "[install-code-server] ERROR: $*" >&2
  exit 1
}

# ---- the editor's Node.js ---------------------------------------------------------------------
NODE_DIR="$(dirname "$(FERRY_NODE_VERSION="$CODE_SERVER_NODE_VERSION" bash "$REPO/scripts/node.sh")")"
NODE="$NODE_DIR/bin/node"
# Everything below (npm, the install scripts, node-gyp) runs on it and builds against its headers,
# whatever Node.js or nodedir the caller set (.ci/run sets Node.js 24's).
export PATH="$NODE_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"

# ---- fast path --------------------------------------------------------------------------------
# The marker names the Node.js too: the native modules (node-pty...) only load in the Node they were built for.
expected_marker() { printf '{"codeServer":"%s","node":"%s","nodeVersion":"%s","entry":"%s"}\n' "$CODE_SERVER_VERSION" "$NODE" "$("$NODE" --version)" "$ENTRY"; }
installed() { [[ -f "$MARKER" && -f "$ENTRY" ]] && [[ "$(cat "$MARKER")" == "$(expected_marker)" ]]; }
if installed; then
  log "code-server $CODE_SERVER_VERSION already installed in $DIR"
  echo "$NODE $ENTRY"
  exit 0
fi

# ---- prerequisites ----------------------------------------------------------------------------
missing=()
command -v npm >/dev/null 2>&1 || die "npm is not on PATH: install npm (e.g. Debian's nodejs with npm)"
command -v rg >/dev/null 2>&1 || missing+=("ripgrep")
for tool in make g++ python3 tar gzip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! command -v krb5-config >/dev/null 2>&1 && [[ ! -f /usr/include/gssapi/gssapi.h ]]; then
  missing+=("libkrb5-dev")
fi
if ((${#missing[@]})); then
  pkgs=()
  for m in "${missing[@]}"; do
    case "$m" in
      make | g++) pkgs+=("build-essential") ;;
      *) pkgs+=("$m") ;;
    esac
  done
  die "missing prerequisites: ${missing[*]}. Fix: apt-get install -y $(printf '%s\n' "${pkgs[@]}" | sort -u | xargs)"
fi
[[ -f "$NODE_DIR/include/node/node.h" && -f "$NODE_DIR/include/node/common.gypi" ]] ||
  die "no Node.js headers in $NODE_DIR/include/node (node-gyp needs them): remove $NODE_DIR and run again"

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) rg_target=x86_64-unknown-linux-musl ;;
  Linux/aarch64 | Linux/arm64) rg_target=aarch64-unknown-linux-musl ;;
  *) die "unsupported platform $(uname -s)/$(uname -m) (this script knows Linux x86_64 and aarch64)" ;;
esac

# ---- a clean staging directory next to the target ---------------------------------------------
if [[ -e "$DIR" && ! -f "$DIR/$SENTINEL_NAME" ]] && [[ -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
  die "$DIR exists, is not empty and was not made by this script; remove it or set FERRY_CODE_SERVER_DIR"
fi
mkdir -p "$(dirname "$DIR")"
# One install at a time per directory; a concurrent run waits, then finds the install done.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DIR.lock"
  flock 9
  if installed; then
    log "code-server $CODE_SERVER_VERSION was installed in $DIR meanwhile"
    echo "$NODE $ENTRY"
    exit 0
  fi
fi
STAGE="$DIR.partial.$$"
LOG="$DIR.install.log"
cleanup() {
  local rc=$?
  rm -rf "$STAGE"
  if ((rc != 0)); then
    if [[ -f "$LOG" ]]; then
      echo "[install-code-server] last lines of $LOG:" >&2
      tail -n 60 "$LOG" >&2 || true
    fi
    echo "[install-code-server] FAILED (exit $rc); full log: $LOG" >&2
  fi
}
trap cleanup EXIT
rm -rf "$STAGE"
mkdir -p "$STAGE"
: >"$LOG"
touch "$STAGE/$SENTINEL_NAME"
start=$SECONDS

# ---- seed @vscode/ripgrep's download cache ------------------------------------------------------
# @vscode/ripgrep's postinstall (lib/download.js) looks for
#   path.join(os.tmpdir(), `vscode-ripgrep-cache-${packageVersion}`, `ripgrep-${VERSION}-${target}.tar.gz`)
# before calling the GitHub API, and untars it with `tar xvf` expecting `rg` at the archive's root.
# os.tmpdir() is $TMPDIR, so point TMPDIR at the staging dir for the whole install.
export TMPDIR="$STAGE/.tmp"
rg_cache="$TMPDIR/vscode-ripgrep-cache-$VSCODE_RIPGREP_VERSION"
mkdir -p "$rg_cache/src"
cp "$(command -v rg)" "$rg_cache/src/rg"
chmod 755 "$rg_cache/src/rg"
tar -czf "$rg_cache/ripgrep-$RIPGREP_PREBUILT_VERSION-$rg_target.tar.gz" -C "$rg_cache/src" rg
# Not `rg --version | head`: head exits after one line, and under pipefail rg's SIGPIPE fails the script.
rg_version="$(rg --version)"
log "seeded ripgrep cache with $(command -v rg) (${rg_version%%$'\n'*})"

# ---- npm install ------------------------------------------------------------------------------
cat >"$STAGE/package.json" <<EOF
{
  "name": "ferry-code-server",
  "private": true,
  "description": "code-server for Ferry's VS Code extension E2E tests (made by scripts/install-code-server.sh)",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" }
}
EOF

# Install scripts must run, including those of the nested `npm install` that code-server's postinstall
# runs in lib/vscode and lib/vscode/extensions (node-pty, @vscode/ripgrep, spdlog, kerberos, ...).
# npm 11 warns "install scripts not yet covered by allowScripts" but still runs unreviewed ones; a
# denial, strict-allow-scripts or ignore-scripts in some npmrc would break the install, so override
# them in the environment (env config is inherited by the nested npm processes). An allow-list does
# not work here: package.json#allowScripts is not seen by the nested installs, and an `allow-scripts`
# npmrc entry is exported to them as npm_config_allow_scripts, which a project-scoped install
# rejects with EALLOWSCRIPTS. The tree is pinned by code-server's npm-shrinkwrap.json.
export npm_config_ignore_scripts=false
export npm_config_strict_allow_scripts=false
export npm_config_dangerously_allow_all_scripts=true
export npm_config_foreground_scripts=true # script output goes to the log, in order
export npm_config_unsafe_perm=true        # code-server's postinstall.sh insists on it when run as root
export npm_config_yes=true                # node-pty's build runs npx
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export npm_config_loglevel=warn
unset npm_config_global npm_config_prefix npm_config_omit npm_config_production || true

log "installing code-server@$CODE_SERVER_VERSION into $DIR on Node.js $("$NODE" --version) (builds native modules; a few minutes; log: $LOG)"
(cd "$STAGE" && npm install --no-save --no-package-lock >>"$LOG" 2>&1) &
npm_pid=$!
while kill -0 "$npm_pid" 2>/dev/null; do
  sleep 15
  kill -0 "$npm_pid" 2>/dev/null || break
  log "... still installing ($((SECONDS - start)) s; $(grep -c . "$LOG") log lines)"
done
wait "$npm_pid" || die "npm install of code-server@$CODE_SERVER_VERSION failed"

# ---- verify the postinstall really ran ------------------------------------------------------------
cs="$STAGE/node_modules/code-server"
vs="$cs/lib/vscode"
[[ -x "$STAGE/node_modules/.bin/code-server" ]] || die "node_modules/.bin/code-server missing after install"
[[ -d "$vs/node_modules" && -L "$vs/node_modules.asar" ]] ||
  die "code-server's postinstall did not run (no lib/vscode/node_modules); were install scripts skipped? see $LOG"
[[ -x "$vs/node_modules/@vscode/ripgrep/bin/rg" ]] ||
  die "lib/vscode/node_modules/@vscode/ripgrep/bin/rg missing: the ripgrep postinstall failed (cache $rg_cache)"
compgen -G "$vs/node_modules/node-pty/build/Release/*.node" >/dev/null ||
  compgen -G "$vs/node_modules/node-pty/prebuilds/*/*.node" >/dev/null ||
  die "node-pty was not built (lib/vscode/node_modules/node-pty); see $LOG"
[[ -d "$vs/extensions/node_modules" ]] || die "lib/vscode/extensions dependencies missing; see $LOG"
rm -rf "$TMPDIR"
export TMPDIR=/tmp

# --config: otherwise code-server writes a default ~/.config/code-server/config.yaml
version_out="$("$NODE" "$cs/out/node/entry.js" --config "$STAGE/.version-check.yaml" --version 2>&1)" ||
  die "code-server --version failed: $version_out"
grep -q "^$CODE_SERVER_VERSION " <<<"$version_out" || die "unexpected code-server --version output: $version_out"
rm -f "$STAGE/.version-check.yaml"
log "code-server --version: $(grep "^$CODE_SERVER_VERSION " <<<"$version_out")"

# ---- publish -----------------------------------------------------------------------------------
rm -rf "$DIR"
mv "$STAGE" "$DIR"
expected_marker >"$MARKER"
log "installed in $((SECONDS - start)) s"
echo "$NODE $ENTRY"
