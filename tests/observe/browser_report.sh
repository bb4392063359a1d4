#!/usr/bin/env bash
# Browser test of the observatory report (headless Debian chromium via playwright-core from web/).
# usage: browser_report.sh ATTEND_BINARY WEB_DIR. Exit 77 (ctest SKIP) without node/playwright/chromium.
set -euo pipefail
attend=$1 web=$2
command -v node >/dev/null || { echo "SKIP: node missing"; exit 77; }
[ -d "$web/node_modules/playwright-core" ] || { echo "SKIP: run 'npm install' in $web"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "SKIP: /usr/bin/chromium missing"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$attend" inspect-toy --out "$out/toy"
"$attend" inspect-toy --out "$out/inject" \
  --prompt $'</script><script>window.__attend_injected=true;alert(1)</script><!-- & \u2028 "q" </SCRIPT>'
# Markup that runs without a <script> element: event handlers on injected elements, attribute breakout.
"$attend" inspect-toy --out "$out/inject_attr" \
  --prompt $'<img src=x onerror="window.__attend_injected=true;alert(2)"><svg onload=alert(3)>" onmouseover="alert(4)\' x=\''
"$attend" inspect-toy --out "$out/long4k" --synthetic 4096
# A real (small, briefly trained) model: predictions, logit lens, DLA, detectors, an ablation and patching grids.
"$attend" train --task induction --vocab 16 --seq-len 24 --d-model 32 --layers 2 --heads 2 --steps 20 --batch 8 \
  --out "$out/m.safetensors" >/dev/null 2>&1
"$attend" compare --model "$out/m.safetensors" --clean abcdefabcde --corrupt abcdefghijk --ablate L0H1 --out "$out/compare"
node "$web/test_report.mjs" "$out"/{toy,inject,inject_attr,long4k,compare}/report.html  # one browser for all five
