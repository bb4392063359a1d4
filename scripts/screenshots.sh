#!/usr/bin/env bash
# Regenerates the screenshots in docs/ (linked from the README): a 12-layer × 12-head model trained
# briefly on the induction task, its static report (attend inspect) and attend serve's app, captured
# by web/screenshots.mjs (playwright-core + Debian chromium; run `npm install` in web/ first).
# usage: bash scripts/screenshots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
attend=${1:-build}/tools/attend
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$attend" train --task induction --vocab 16 --seq-len 32 --d-model 96 --layers 12 --heads 12 --steps 150 --batch 8 --seed 3 \
  --out "$work/m144.safetensors" >/dev/null
"$attend" inspect --model "$work/m144.safetensors" --prompt abcdefghijabcdefghij --out "$work/report" >/dev/null
"$attend" serve --model "$work/m144.safetensors" --port 0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'on http://' "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/serve.log")
node web/screenshots.mjs "$work/report/report.html" "$url" docs
