#!/usr/bin/env bash
# Browser test of `attend serve` (headless Debian chromium via playwright-core from web/): a small
# trained model, the server on a free loopback port, web/test_serve.mjs against it.
# usage: browser_serve.sh ATTEND_BINARY WEB_DIR. Exit 77 (ctest SKIP) without node/playwright/chromium.
set -euo pipefail
attend=$1 web=$2
command -v node >/dev/null || { echo "SKIP: node missing"; exit 77; }
[ -d "$web/node_modules/playwright-core" ] || { echo "SKIP: run 'npm install' in $web"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "SKIP: /usr/bin/chromium missing"; exit 77; }
out=$(mktemp -d)
pid=
cleanup() {  # the server's exit status (killed: 143) is not the test's
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
"$attend" train --task induction --vocab 16 --seq-len 24 --d-model 32 --layers 2 --heads 2 --steps 60 --batch 8 \
  --out "$out/m.safetensors" >/dev/null 2>&1
"$attend" serve --model "$out/m.safetensors" --port 0 --threads 2 >"$out/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'on http://' "$out/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$out/serve.log") || { cat "$out/serve.log"; exit 1; }
node "$web/test_serve.mjs" "$url"
kill -0 "$pid" || { echo "the server died"; cat "$out/serve.log"; exit 1; }
