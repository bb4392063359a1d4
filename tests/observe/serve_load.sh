#!/usr/bin/env bash
# Load test of `attend serve` (web/serve_load.mjs): 2 × 200 requests from 8 concurrent clients on a
# small trained model; every answer 200, resident memory bounded. Prints the RSS (for bench/RESULTS.md).
# usage: serve_load.sh ATTEND_BINARY WEB_DIR [REQUESTS] [CLIENTS] [MODEL]. Exit 77 (ctest SKIP) without node.
# Without MODEL, a 2-layer × 2-head model trained here for a few steps.
set -euo pipefail
attend=$1 web=$2 requests=${3:-200} clients=${4:-8} model=${5:-}
command -v node >/dev/null || { echo "SKIP: node missing"; exit 77; }
out=$(mktemp -d)
pid=
cleanup() {  # the server's exit status (killed: 143) is not the test's
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
if [ -z "$model" ]; then
  model=$out/m.safetensors
  "$attend" train --task induction --vocab 16 --seq-len 24 --d-model 32 --layers 2 --heads 2 --steps 20 --batch 8 \
    --out "$model" >/dev/null 2>&1
fi
"$attend" serve --model "$model" --port 0 --threads 2 >"$out/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'on http://' "$out/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$out/serve.log") || { cat "$out/serve.log"; exit 1; }
node "$web/serve_load.mjs" "$url" "$pid" "$requests" "$clients"
kill -0 "$pid" || { echo "the server died"; cat "$out/serve.log"; exit 1; }
