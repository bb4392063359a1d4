#!/usr/bin/env bash
# llama.cpp loads a GGUF file attend's writer wrote and agrees on its next-token probabilities.
# Skipped (77) without node or without `npm install` in tests/gguf (scripts/setup.sh runs it).
#   llama_cpp.sh path/to/gguf_tiny_llama
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "skip: node is not installed"; exit 77; }
[ -d "$here/node_modules/node-llama-cpp" ] || { echo "skip: node-llama-cpp is not installed (cd tests/gguf && npm install --ignore-scripts --omit=optional)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" "$work/tiny_llama.gguf" "$work/expected.json"
node "$here/llama_cpp_load.mjs" "$work/tiny_llama.gguf" "$work/expected.json"
