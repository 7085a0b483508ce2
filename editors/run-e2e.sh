#!/usr/bin/env bash
# End-to-end tests of the editor integrations against the real server:
#   1. builds `faultline` from this repository (or uses $FAULTLINE_BIN),
#   2. materialises the demo workspace with `faultline demo --out DIR`, which
#      prints {"root","logs","deploys","expect":{"file","line","messageContains"}},
#   3. gives it a pull-request target: a bare repository as `origin` (file://)
#      with main pushed, a fake GitHub (internal/fakegithub) on 127.0.0.1 that
#      refuses branches not pushed there and records its requests, and an
#      uncommitted .faultline.yaml pointing github.base_url at it,
#   4. runs the Node LSP test (editors/vscode/test/e2e) and the headless Neovim
#      test (editors/nvim/test/run.sh) on it.
# Usage: editors/run-e2e.sh [node|nvim]...   (default: both)
# Needs Go, git, Node 20 (npm ci runs when node_modules is missing) and Neovim >= 0.7
# (installed with apt-get when missing and running as root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
which=("$@")
[[ ${#which[@]} -eq 0 ]] && which=(node nvim)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/faultline-e2e.XXXXXX")
fake_pid=
cleanup() {
  if [[ -n "$fake_pid" ]]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

echo "== preparing the pull request target (bare origin, fake GitHub)"
export FAULTLINE_E2E_BARE="$tmp/remote/acme/checkout.git"
export FAULTLINE_E2E_GITHUB_RECORD="$tmp/github-requests.json"
git init -q --bare "$FAULTLINE_E2E_BARE"
git -C "$FAULTLINE_E2E_WORKSPACE" remote add origin "file://$FAULTLINE_E2E_BARE"
git -C "$FAULTLINE_E2E_WORKSPACE" push -q origin HEAD:refs/heads/main
git -C "$FAULTLINE_E2E_BARE" symbolic-ref HEAD refs/heads/main
(cd "$repo" && go build -o "$tmp/fakegithub" ./internal/fakegithub/cmd/fakegithub)
"$tmp/fakegithub" -bare "$FAULTLINE_E2E_BARE" -repo acme/checkout -token test-token \
  -record "$FAULTLINE_E2E_GITHUB_RECORD" >"$tmp/fakegithub.out" 2>"$tmp/fakegithub.err" &
fake_pid=$!
for _ in $(seq 100); do
  [[ -s "$tmp/fakegithub.out" ]] && break
  kill -0 "$fake_pid" 2>/dev/null || break
  sleep 0.1
done
FAULTLINE_E2E_GITHUB_URL=$(head -n1 "$tmp/fakegithub.out")
if [[ "$FAULTLINE_E2E_GITHUB_URL" != http://127.0.0.1:*/api/v3/ ]]; then
  echo "fake GitHub did not start:" >&2
  cat "$tmp/fakegithub.err" >&2
  exit 1
fi
export FAULTLINE_E2E_GITHUB_URL
# Left uncommitted, as a user's local config often is: the pull request must
# carry the fix only.
cat >"$FAULTLINE_E2E_WORKSPACE/.faultline.yaml" <<EOF
github:
  repo: acme/checkout
  base_url: $FAULTLINE_E2E_GITHUB_URL
EOF
unset FAULTLINE_GITHUB_TOKEN GH_TOKEN
export GITHUB_TOKEN=test-token
echo "origin file://$FAULTLINE_E2E_BARE, GitHub $FAULTLINE_E2E_GITHUB_URL"

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
