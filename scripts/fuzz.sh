#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a set time each, one after the
# other, and stops at the first crash. Targets are discovered with
# `go test -list '^Fuzz'`, so a new `func FuzzX` is picked up without
# touching this script.
#
# Environment:
#   FUZZTIME       time per target, as go test -fuzztime takes it (default 30s)
#   FUZZ_MATCH     only run targets whose "pkg.Target" matches this ERE
#   FUZZ_PARALLEL  fuzzing workers per target (default: go test's, GOMAXPROCS)
#   FUZZ_LOG       file to append "pkg target seconds status" lines to
#
# On a crash, go test writes the failing input to the package's
# testdata/fuzz/<Target>/ directory (commit it: it becomes a regression test);
# this script prints that path and exits 1. Exit 0 means every target ran its
# full time without a crash.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-30s}"
FUZZ_MATCH="${FUZZ_MATCH:-}"
FUZZ_LOG="${FUZZ_LOG:-}"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
  parallel=(-parallel "$FUZZ_PARALLEL")
fi

# discover prints "importpath Target" for every fuzz target. go test -list
# prints the matching names of a package followed by its "ok <pkg>" line.
discover() {
  local out
  if ! out="$(go test -count=1 -list '^Fuzz' ./... 2>&1)"; then
    echo "fuzz: listing fuzz targets failed:" >&2
    echo "$out" >&2
    return 1
  fi
  awk '
    /^Fuzz[A-Za-z0-9_]*$/ { names[n++] = $1; next }
    /^ok[ \t]/ { for (i = 0; i < n; i++) print $2, names[i]; n = 0; next }
  ' <<<"$out"
}

targets="$(discover)" || exit 2
if [ -n "$FUZZ_MATCH" ]; then
  targets="$(awk -v m="$FUZZ_MATCH" '($1 "." $2) ~ m' <<<"$targets")"
fi
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 2
fi
count="$(wc -l <<<"$targets")"
echo "fuzz: $count targets, $FUZZTIME each"

while read -r pkg target; do
  dir="$(go list -f '{{.Dir}}' "$pkg")"
  echo "fuzz: $pkg $target"
  start=$(date +%s)
  out="$(mktemp)"
  go test -count=1 "${parallel[@]}" -run "^${target}\$" -fuzz "^${target}\$" \
    -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  if [ -n "$FUZZ_LOG" ]; then
    echo "$pkg $target $secs $([ "$status" = 0 ] && echo ok || echo FAIL)" >>"$FUZZ_LOG"
  fi
  if [ "$status" != 0 ]; then
    crasher="$(grep -o 'testdata/fuzz/[^ ]*' "$out" | tail -n 1)"
    rm -f "$out"
    if [ -n "$crasher" ]; then
      echo "fuzz: CRASH in $pkg $target after ${secs}s: $dir/$crasher" >&2
      echo "fuzz: reproduce with: go test -run '${target}/$(basename "$crasher")' $pkg" >&2
    else
      echo "fuzz: $pkg $target failed after ${secs}s (no crasher written; see output above)" >&2
    fi
    exit 1
  fi
  rm -f "$out"
done <<<"$targets"
echo "fuzz: all $count targets ran $FUZZTIME without a crash"
