#!/usr/bin/env bash
# Idempotent installer for the benchmark's peers (not part of `npm test`).
#   - Debian packages: nginx-light (the reference server) and wrk (the load generator); chromium
#     and fonts-liberation for the reload race (as the browser tests use them: test/harness/install.mjs)
#     unless CHROMIUM_PATH names another browser. Without it a new machine's first run had no race.
#   - npm peers: http-server, sirv-cli, live-server and five-server, pinned, installed into
#     .cache/bench/npm (gitignored) — never into the project's own dependencies.
# The package's service is never started: apt runs with a policy-rc.d that forbids it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${BENCH_CACHE:-$repo/.cache/bench}"
npm_dir="$cache/npm"

HTTP_SERVER_VERSION=14.1.1
SIRV_CLI_VERSION=3.0.1
LIVE_SERVER_VERSION=1.2.2
FIVE_SERVER_VERSION=0.4.5

log() { printf '[bench:install] %s\n' "$*" >&2; }

mkdir -p "$npm_dir"
need_apt=()
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then need_apt+=(nginx-light); fi
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium fonts-liberation); fi

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing ${need_apt[*]} and not root: install them with apt-get (sudo apt-get install ${need_apt[*]})"
    exit 1
  fi
  log "apt-get install ${need_apt[*]}"
  # Keep the nginx package from starting its system service (port 80) during install.
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  cleanup() { if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get (the test harness's install, a system update) may hold dpkg's lock: wait for it
  # up to 10 minutes instead of failing at once.
  lock=(-o DPkg::Lock::Timeout=600)
  if ! apt-get "${lock[@]}" install -y -q --no-install-recommends "${need_apt[@]}" >"$cache/apt.log" 2>&1; then
    apt-get "${lock[@]}" update -q >/dev/null 2>&1 || true
    apt-get "${lock[@]}" install -y -q --no-install-recommends "${need_apt[@]}" >"$cache/apt.log" 2>&1 || {
      tail -20 "$cache/apt.log" >&2; log "apt-get install failed"; exit 1; }
  fi
  rm -f "$cache/apt.log"
  # If some init system started nginx anyway, stop it (only the packaged service's pid file).
  if [ -s /run/nginx.pid ]; then
    pid="$(cat /run/nginx.pid)"; log "stopping packaged nginx service (pid $pid)"; kill "$pid" 2>/dev/null || true
  fi
fi


have() { [ -f "$npm_dir/node_modules/$1/package.json" ] && \
  node -e "process.exit(require(process.argv[1]).version===process.argv[2]?0:1)" "$npm_dir/node_modules/$1/package.json" "$2"; }
need_npm=()
have http-server "$HTTP_SERVER_VERSION" || need_npm+=("http-server@$HTTP_SERVER_VERSION")
have sirv-cli "$SIRV_CLI_VERSION" || need_npm+=("sirv-cli@$SIRV_CLI_VERSION")
have live-server "$LIVE_SERVER_VERSION" || need_npm+=("live-server@$LIVE_SERVER_VERSION")
have five-server "$FIVE_SERVER_VERSION" || need_npm+=("five-server@$FIVE_SERVER_VERSION")
if [ "${#need_npm[@]}" -gt 0 ]; then
  log "npm install ${need_npm[*]} into $npm_dir"
  [ -f "$npm_dir/package.json" ] || printf '{ "name": "porthole-bench-peers", "private": true }\n' > "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error --save-exact \
      "${need_npm[@]}" >/dev/null)
fi
log "ok: $(wrk -v 2>&1 | head -1 | cut -c1-40); $(/usr/sbin/nginx -v 2>&1)"
