#!/usr/bin/python3
"""Peak resident memory of `attend generate` on a 1B-parameter-shaped bf16 checkpoint.

Writes a random-weight Hugging Face checkpoint of Llama-3.2-1B's shape (hidden 2048, 16 layers,
32 heads, 8 KV heads, head_dim 64, intermediate 8192, vocab 128256, tied embeddings, llama3 RoPE
scaling, max_position_embeddings 131072; bf16, 2.47 GB) tensor by tensor (this script never holds
more than one tensor), then runs

    /usr/bin/time -v <attend> generate --model DIR --prompt "The quick brown fox" --temperature 0 --max-new 32

and reports the maximum resident set size. Usage: hf_rss.py --attend build/tools/attend [--dir DIR] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import torch

CONFIG = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
    "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
    "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False, "torch_dtype": "bfloat16",
    "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192},
}


def shapes(c):
    E, F, V, H, G, D = (c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_attention_heads"],
                        c["num_key_value_heads"], c["head_dim"])
    out = [("model.embed_tokens.weight", (V, E))]
    for l in range(c["num_hidden_layers"]):
        m = "model.layers.%d." % l
        out += [(m + "input_layernorm.weight", (E,)), (m + "self_attn.q_proj.weight", (H * D, E)),
                (m + "self_attn.k_proj.weight", (G * D, E)), (m + "self_attn.v_proj.weight", (G * D, E)),
                (m + "self_attn.o_proj.weight", (E, H * D)), (m + "post_attention_layernorm.weight", (E,)),
                (m + "mlp.gate_proj.weight", (F, E)), (m + "mlp.up_proj.weight", (F, E)), (m + "mlp.down_proj.weight", (E, F))]
    out.append(("model.norm.weight", (E,)))
    return out


def write(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    specs = shapes(CONFIG)
    header, off = {}, 0
    for name, s in specs:
        n = 2
        for d in s:
            n *= d
        header[name] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    gen = torch.Generator().manual_seed(0)
    path = os.path.join(folder, "model.safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for name, s in specs:
            if len(s) == 1:
                t = torch.ones(s)
            else:
                t = torch.randn(*s, generator=gen) * (1.0 if "embed" in name else s[1] ** -0.5)
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    os.replace(path + ".tmp", path)
    return off


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attend", required=True)
    ap.add_argument("--dir", default="/tmp/attend_rss_llama1b")
    ap.add_argument("--keep", action="store_true", help="keep the checkpoint (and reuse one already there)")
    ap.add_argument("--max-new", type=int, default=32)
    a = ap.parse_args()
    if not (a.keep and os.path.exists(os.path.join(a.dir, "model.safetensors"))):
        nbytes = write(a.dir)
        print("wrote %s: %.2f GB of bf16 weights" % (a.dir, nbytes / 1e9), flush=True)
    cmd = ["/usr/bin/time", "-v", a.attend, "generate", "--model", a.dir, "--prompt", "The quick brown fox",
           "--temperature", "0", "--max-new", str(a.max_new)]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True)
    err = r.stderr.decode(errors="replace")
    if r.returncode != 0:
        print(err)
        sys.exit(1)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", err).group(1)
    out = r.stdout.decode(errors="replace").rstrip("\n")
    print("generated: %r" % out[-120:])
    print("max RSS %.2f GiB (%d kB), wall %s" % (rss_kb / 2 ** 20, rss_kb, wall))
    if not a.keep:
        shutil.rmtree(a.dir)


if __name__ == "__main__":
    main()
