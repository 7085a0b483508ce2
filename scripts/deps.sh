#!/usr/bin/env bash
# Installs what the full test suite needs on a fresh Debian machine: Neovim
# (real LSP client), Prometheus (real metrics backend), PostgreSQL client and
# server (correlator), and the editor extension's npm packages. Idempotent:
# skips what is already there. Needs root for apt-get (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nvim >/dev/null 2>&1 || need+=(neovim)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "deps: missing ${need[*]} (run as root or install them; the tests that need them will skip)" >&2
  fi
fi

if [ -f editors/vscode/package-lock.json ] && [ ! -d editors/vscode/node_modules ]; then
  echo "deps: npm ci in editors/vscode"
  (cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error)
fi
