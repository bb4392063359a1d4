#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, starting from its checked-in seed corpus
# (tests/fuzz/corpus/<name minus fuzz_>/) plus the regression inputs (tests/fuzz/regressions/...).
# Prints one line per target with the inputs tried; exits non-zero on the first crash, leaving
# the crashing input in tests/fuzz/crash-* to be turned into a regression test.
set -euo pipefail
build=$1; seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
total=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  name=$(basename "$bin"); short=${name#fuzz_}
  work=$(mktemp -d)
  cp -r "$here/corpus/$short/." "$work/" 2>/dev/null || true
  cp -r "$here/regressions/$short/." "$work/" 2>/dev/null || true
  log=$(mktemp)
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -artifact_prefix="$here/crash-$short-" -print_final_stats=1 "$work" >"$log" 2>&1; then
    tail -40 "$log"; echo "fuzz: $name FOUND A CRASH (input saved under $here/crash-$short-*)"; exit 1
  fi
  runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
  echo "fuzz: $name ran ${runs:-?} inputs in ${seconds}s, no crash"
  total=$((total + ${runs:-0}))
  rm -rf "$work" "$log"
done
echo "fuzz: $total inputs tried in all, 0 crashes"
