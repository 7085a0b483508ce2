#!/usr/bin/env bash
# End-to-end tests of the editor integrations against the real server:
#   1. builds `faultline` from this repository (or uses $FAULTLINE_BIN),
#   2. materialises the demo workspace with `faultline demo --out DIR`, which
#      prints {"root","logs","deploys","expect":{"file","line","messageContains"}},
#   3. runs the Node LSP test (editors/vscode/test/e2e) and the headless Neovim
#      test (editors/nvim/test/run.sh) on it.
# Usage: editors/run-e2e.sh [node|nvim]...   (default: both)
# Needs Go, Node 20 (npm ci runs when node_modules is missing) and Neovim >= 0.7
# (installed with apt-get when missing and running as root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
which=("$@")
[[ ${#which[@]} -eq 0 ]] && which=(node nvim)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/faultline-e2e.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

if [[ -z "${FAULTLINE_BIN:-}" ]]; then
  echo "== building faultline"
  (cd "$repo" && go build -o "$tmp/faultline" ./cmd/faultline)
  FAULTLINE_BIN="$tmp/faultline"
fi
export FAULTLINE_BIN

echo "== preparing the demo workspace"
if ! (cd "$tmp" && "$FAULTLINE_BIN" demo --out "$tmp/demo" >"$tmp/demo.json" 2>"$tmp/demo.err"); then
  echo "faultline demo failed:" >&2
  cat "$tmp/demo.err" >&2
  exit 1
fi

# Read the demo's JSON; relative paths are taken from where demo ran ($tmp).
eval "$(node -e '
  const path = require("node:path");
  const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const abs = (p) => (p ? path.resolve(process.argv[2], p) : "");
  for (const k of ["root", "logs", "expect"]) if (!d[k]) throw new Error("demo output lacks " + k);
  for (const k of ["file", "line", "messageContains"]) if (d.expect[k] === undefined) throw new Error("demo expect lacks " + k);
  const q = (s) => "\x27" + String(s).replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
  console.log("export FAULTLINE_E2E_WORKSPACE=" + q(abs(d.root)));
  console.log("export FAULTLINE_E2E_LOGS=" + q(abs(d.logs)));
  console.log("export FAULTLINE_E2E_DEPLOYS=" + q(abs(d.deploys)));
  console.log("export FAULTLINE_E2E_EXPECT=" + q(JSON.stringify(d.expect)));
' "$tmp/demo.json" "$tmp")"
echo "workspace $FAULTLINE_E2E_WORKSPACE, expecting $FAULTLINE_E2E_EXPECT"

failed=()
for w in "${which[@]}"; do
  case "$w" in
    node)
      echo "== Node LSP client end-to-end (editors/vscode/test/e2e)"
      (
        cd "$here/vscode"
        [[ -d node_modules ]] || npm ci --no-audit --no-fund
        node --test --test-reporter=spec test/e2e/
      ) || failed+=(node)
      ;;
    nvim)
      echo "== headless Neovim end-to-end (editors/nvim/test)"
      if ! command -v nvim >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y neovim >/dev/null || { apt-get update -qq && apt-get install -y neovim >/dev/null; }
      fi
      "$here/nvim/test/run.sh" || failed+=(nvim)
      ;;
    *)
      echo "unknown test set: $w (want node or nvim)" >&2
      exit 2
      ;;
  esac
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "editor e2e FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "editor e2e: all passed (${which[*]})"
