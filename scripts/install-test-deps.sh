#!/usr/bin/env bash
# Installs what the test suites need, idempotently (a second run only checks):
#   Debian: chromium (browser tests, never a browser download), fonts-liberation, iproute2 and curl
#           (network-namespace tests), goaccess (reads our log file as COMBINED), libkrb5-dev
#           (code-server compiles a kerberos module), make/g++/python3 (node-gyp).
#   code-server + its private Node 24 + playwright-core + vsce, through ../shared/tools/vscode-e2e.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium fonts-liberation)
command -v ip >/dev/null || [[ -x /usr/sbin/ip ]] || need+=(iproute2)
command -v goaccess >/dev/null || need+=(goaccess)
command -v curl >/dev/null || need+=(curl)
[[ -f /usr/include/gssapi/gssapi.h ]] || need+=(libkrb5-dev)
command -v make >/dev/null || need+=(make)
command -v g++ >/dev/null || need+=(g++)
if ((${#need[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "install-test-deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "install-test-deps: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${need[@]}" >/tmp/porthole-apt.log 2>&1; then
    apt-get update >>/tmp/porthole-apt.log 2>&1 || true
    apt-get install -y --no-install-recommends "${need[@]}" >>/tmp/porthole-apt.log 2>&1 \
      || { tail -20 /tmp/porthole-apt.log >&2; echo "install-test-deps: apt-get install failed" >&2; exit 1; }
  fi
fi

e2e="${PORTHOLE_VSCODE_E2E:-$here/../shared/tools/vscode-e2e}"
if [[ ! -f "$e2e/setup.sh" ]]; then
  echo "install-test-deps: $e2e/setup.sh not found (the shared/ folder must sit beside the repo)" >&2
  exit 1
fi
bash "$e2e/setup.sh"
