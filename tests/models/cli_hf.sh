#!/bin/bash
# attend generate / inspect on Hugging Face checkpoints (random weights, written by
# hf_reference.py): greedy generation streams exactly the float64 reference's tokens; inspect writes
# its report for a loaded model. Usage: cli_hf.sh <attend binary>. Exit 77 (skip) without torch.
set -u
ATTEND=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for name in gpt2_bf16 llama_bf16_sharded; do
  /usr/bin/python3 "$HERE/hf_reference.py" --out "$TMP" --only "$name" --cli-prompt "Hello, attend" --cli-max-new 40 > "$TMP/gen.log" 2>&1
  rc=$?
  [ $rc -eq 77 ] && { echo "skip: python3 with torch is not installed"; exit 77; }
  [ $rc -eq 0 ] || { cat "$TMP/gen.log"; fail "hf_reference.py for $name"; }
  # llama's vocabulary (128) is below the byte codec's 256: its prompt must be ids < 128 (ASCII).
  "$ATTEND" generate --model "$TMP/$name" --prompt "Hello, attend" --temperature 0 --max-new 40 > "$TMP/$name.out" 2> "$TMP/$name.err" \
    || { cat "$TMP/$name.err"; fail "attend generate on $name"; }
  cmp "$TMP/$name.out" "$TMP/$name/cli_expected.txt" || { od -c "$TMP/$name.out" | head; od -c "$TMP/$name/cli_expected.txt" | head; fail "$name: generated text differs from the reference"; }
  "$ATTEND" inspect --model "$TMP/$name" --prompt "Hello" --out "$TMP/report_$name" > "$TMP/inspect.out" 2>&1 \
    || { cat "$TMP/inspect.out"; fail "attend inspect on $name"; }
  report=$(sed -n 's/^wrote \([^ ]*\) .*/\1/p' "$TMP/inspect.out")
  [ -s "$report" ] || { cat "$TMP/inspect.out"; fail "inspect on $name wrote no report"; }
  grep -q "2 layers, 4 heads" "$TMP/inspect.out" || { cat "$TMP/inspect.out"; fail "inspect on $name: wrong shape"; }
  echo "ok: $name"
done
# An unsupported architecture is refused by name.
mkdir -p "$TMP/phi" && echo '{"model_type": "phi3"}' > "$TMP/phi/config.json" && : > "$TMP/phi/model.safetensors"
"$ATTEND" generate --model "$TMP/phi" --prompt x > "$TMP/phi.out" 2>&1 && fail "phi3 accepted"
grep -q "model_type 'phi3' is not supported" "$TMP/phi.out" || { cat "$TMP/phi.out"; fail "phi3 message"; }
echo "ok: all"
