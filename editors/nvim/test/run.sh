#!/usr/bin/env bash
# Runs the Neovim plugin tests in headless Neovim: the unit tests always, the
# end-to-end test when FAULTLINE_BIN is set (see ../../run-e2e.sh for the
# other variables). Each run is wrapped in pcall + cq and `timeout`, because
# a Lua error in a -c script would otherwise leave headless Neovim hanging.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvim >/dev/null; then
  echo "nvim not found: apt-get install -y neovim" >&2
  exit 1
fi

run() {
  local script=$1 limit=$2
  timeout "$limit" nvim --headless -u NONE -i NONE -n \
    -c "lua local ok,e=pcall(dofile,'$script') if not ok then io.stderr:write(tostring(e)..'\n') vim.cmd('cq') end"
}

run test/unit.lua 60
echo
if [[ -z "${FAULTLINE_BIN:-}" ]]; then
  echo "nvim e2e: skipped (FAULTLINE_BIN is not set; run editors/run-e2e.sh)"
  exit 0
fi
run test/e2e.lua "${FAULTLINE_E2E_TIMEOUT:-180}"
echo
