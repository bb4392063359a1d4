#!/usr/bin/env bash
# Times `attend inspect` with every panel on (the defaults: predictions, logit lens, DLA, head
# detectors, factored EMF + composition of all 144 heads, thumbnails of every head, rollout, flow)
# on a GPT-2-small-shaped checkpoint with random weights (bench/scripts/gpt2_small_random.py: 12
# layers x 12 heads, width 768, MLP 3072, vocabulary 50257) and a 256-token (byte-level) prompt.
# Prints the machine's load and each run's wall time.
#   bash bench/scripts/inspect_gpt2.sh [build dir] [threads] [runs]
set -euo pipefail
build=${1:-build}
threads=${2:-2}
runs=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$(dirname "$0")/gpt2_small_random.py" "$tmp/gpt2"
prompt=$(/usr/bin/python3 -c "print(('The quick brown fox jumps over the lazy dog; ' * 8)[:256], end='')")
for r in $(seq "$runs"); do
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  start=$(date +%s.%N)
  OPENBLAS_NUM_THREADS=$threads "$build/tools/attend" inspect --threads "$threads" --model "$tmp/gpt2" --prompt "$prompt" \
    --out "$tmp/report" > /dev/null
  end=$(date +%s.%N)
  echo "run $r: attend inspect, GPT-2-small shape, 256 tokens, every panel, $threads threads: $(echo "$end - $start" | bc) s wall"
done
ls -l "$tmp/report/report.html" "$tmp/report/report.json" | awk '{print $5, $9}'
