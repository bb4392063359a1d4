#!/usr/bin/env bash
# The runtime benchmark harness (bench/scripts/runtime_peers.py, issue 24) computes the same thing in
# each peer: on a random-weight GGUF written by `attend bench --write-gguf` (shape tiny, context
# 256), attend and llama.cpp (bench/scripts/llama_cpp_peer.mjs) are fed the same 240-token prompt and
# choose the same greedy tokens over 16 decode steps; torch's script (its own weights of the same
# shape) is fed the same prompt. Skipped (77) without node-llama-cpp in tests/gguf/node_modules.
#   llama_cpp_decode.sh path/to/attend
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scripts="$here/../../bench/scripts"
command -v node >/dev/null || { echo "skip: node is not installed"; exit 77; }
[ -d "$here/node_modules/node-llama-cpp" ] || { echo "skip: node-llama-cpp is not installed (scripts/setup.sh)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
attend=$1
"$attend" bench --write-gguf --shape tiny --weights f32 --file "$work/tiny.gguf"
"$attend" bench --generate --file "$work/tiny.gguf" --tokens 256 --new-tokens 16 --threads 1 --runs 1 --json --no-instruments >"$work/attend.json"
node "$scripts/llama_cpp_peer.mjs" --model "$work/tiny.gguf" --workload decode --threads 1 --runs 1 --tokens 256 --new-tokens 16 \
  --kv f32 --node-modules "$here/node_modules" >"$work/llama.json"
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  have_torch=1
  /usr/bin/python3 "$scripts/torch_peer.py" --workload decode --layers 2 --d-model 128 --heads 4 --kv-heads 2 --d-ff 256 --vocab 512 \
    --tokens 256 --new-tokens 16 --threads 1 --runs 1 >"$work/torch.json"
fi
/usr/bin/python3 - "$work" "$have_torch" <<'PY'
import json, sys
work, have_torch = sys.argv[1], sys.argv[2] == "1"
a = json.loads(open(f"{work}/attend.json").readline())
l = json.loads(open(f"{work}/llama.json").readline())
want = sum(3 + (i * 7919 + 11) % (512 - 3) for i in range(240))
print("attend first tokens", a["first_tokens"], "llama.cpp", l["first_tokens"])
assert a["token_sum"] == l["token_sum"] == want, (a["token_sum"], l["token_sum"], want)
assert a["prompt"] == l["prompt"] == 240 and a["new_tokens"] == l["new_tokens"] == 16
same = 0
for x, y in zip(a["first_tokens"], l["first_tokens"]):
    if x != y:
        break
    same += 1
assert same >= 6, f"attend and llama.cpp agree on {same} of 8 greedy tokens"  # random weights: a near tie may flip late
assert a["tokens_per_s"] > 0 and l["tokens_per_s"] > 0
if have_torch:
    t = json.loads(open(f"{work}/torch.json").readline())
    assert t["token_sum"] == want and t["prompt"] == 240 and t["tokens_per_s"] > 0, t
print(f"same prompt in every peer; attend and llama.cpp chose the same first {same} of 8 greedy tokens")
PY
