#!/usr/bin/python3
"""torch's side of the runtime benchmarks (bench/scripts/runtime_peers.py, issue 24).

Debian's torch 1.13 on the CPU, as a user would write the same models in it (torch 1.13 has no
scaled_dot_product_attention: attention is q·kᵀ, mask, softmax, ·v):
  prefill / decode: a Llama-architecture model (RMSNorm, RoPE, SwiGLU, grouped-query attention,
    untied output head) of the GGUF file's shape, random N(0, 0.02²) weights of its own (the same
    shapes and dtype, not the file's values), activations and KV cache in the weight dtype (f32 or
    bf16; f16 products are not implemented on torch 1.13's CPU and q8_0 has no torch equivalent: the
    script then prints an "error" field). Prefill computes the output head for the last row only
    (what generation needs, as llama.cpp does). Decode: prefill C − n tokens (untimed), then n greedy
    one-token steps timed, against a preallocated KV cache.
  train: attend's GPT-2-style byte-level model (LayerNorm, learned positions, tanh GELU, tied
    embeddings, biases), cross-entropy, AdamW (0.9, 0.95, wd 0.1), gradient-norm clip 1, batches of
    random windows of the text.
Threads: torch.set_num_threads(N), one inter-op thread; the driver also sets OMP/OpenBLAS/MKL
thread counts to N in the environment, and ATEN_CPU_CAPABILITY=avx512 where the CPU has AVX-512
(Debian's torch 1.13 has the AVX-512 kernels built but picks AVX2 by default; its products run in
OpenBLAS either way). Prints one JSON line with the fields attend's --json prints.
The prompt is bench/runtime_counts.h's bench_token formula (token_sum checks it).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def bench_prompt(n, vocab):
    toks = [3 + (i * 7919 + 11) % (vocab - 3) for i in range(n)]
    return toks, sum(toks)


class Llama:
    """Inference-only Llama of the given shape; weights [out, in] as F.linear takes them."""

    def __init__(self, a, dtype):
        E, H, G, Fd, V = a.d_model, a.heads, a.kv_heads, a.d_ff, a.vocab
        self.E, self.H, self.G, self.D, self.V, self.L = E, H, G, E // H, V, a.layers
        g = torch.Generator().manual_seed(1)

        def w(*shape):
            return torch.empty(*shape, dtype=torch.float32).normal_(0.0, 0.02, generator=g).to(dtype)

        self.emb = w(V, E)
        self.layers = [dict(wq=w(H * self.D, E), wk=w(G * self.D, E), wv=w(G * self.D, E), wo=w(E, H * self.D),
                            wg=w(Fd, E), wu=w(Fd, E), wd=w(E, Fd), n1=torch.ones(E, dtype=dtype), n2=torch.ones(E, dtype=dtype))
                       for _ in range(a.layers)]
        self.nf = torch.ones(E, dtype=dtype)
        self.out = w(V, E)
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.D, 2, dtype=torch.float32) / self.D))
        ang = torch.outer(torch.arange(a.tokens, dtype=torch.float32), inv)
        self.cos, self.sin = ang.cos().to(dtype), ang.sin().to(dtype)
        self.dtype = dtype

    def new_cache(self, C):
        return [(torch.zeros(self.G, C, self.D, dtype=self.dtype), torch.zeros(self.G, C, self.D, dtype=self.dtype)) for _ in range(self.L)]

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5).to(x.dtype) * w

    def rope(self, x, pos):  # x [heads, T, D], rotate-half form
        T = x.shape[1]
        c, s = self.cos[pos:pos + T].repeat(1, 2), self.sin[pos:pos + T].repeat(1, 2)
        h = self.D // 2
        rot = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
        return x * c + rot * s

    def forward(self, tokens, cache, pos):
        """tokens [T] at positions pos..pos+T-1; returns the last row's logits [V]."""
        T, H, G, D = tokens.shape[0], self.H, self.G, self.D
        x = self.emb[tokens]
        for lp, (kc, vc) in zip(self.layers, cache):
            h = self.rms(x, lp["n1"])
            q = self.rope(F.linear(h, lp["wq"]).view(T, H, D).transpose(0, 1), pos)
            k = self.rope(F.linear(h, lp["wk"]).view(T, G, D).transpose(0, 1), pos)
            kc[:, pos:pos + T] = k
            vc[:, pos:pos + T] = F.linear(h, lp["wv"]).view(T, G, D).transpose(0, 1)
            S = pos + T
            qg = q.reshape(G, H // G, T, D)  # grouped-query: each KV head serves H / G query heads
            s = torch.matmul(qg, kc[:, None, :S].transpose(-1, -2)).float() * (1.0 / math.sqrt(D))
            if T > 1:
                s = s + torch.full((T, S), float("-inf")).triu(pos + 1)
            p = torch.softmax(s, dim=-1).to(self.dtype)
            o = torch.matmul(p, vc[:, None, :S]).reshape(H, T, D).transpose(0, 1).reshape(T, H * D)
            x = x + F.linear(o, lp["wo"])
            h = self.rms(x, lp["n2"])
            x = x + F.linear(F.silu(F.linear(h, lp["wg"])) * F.linear(h, lp["wu"]), lp["wd"])
        return F.linear(self.rms(x[-1:], self.nf), self.out)[0]


def run_inference(a, out):
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}.get(a.weights)
    if dtype is None:
        raise RuntimeError(f"{a.weights} weights have no torch equivalent")
    m = Llama(a, dtype)
    n = a.new_tokens if a.workload == "decode" else 0
    prompt, out["token_sum"] = bench_prompt(a.tokens - n, a.vocab)
    prompt = torch.tensor(prompt, dtype=torch.long)
    cache = m.new_cache(a.tokens)
    secs = []
    with torch.inference_mode():
        if a.workload == "prefill":
            m.forward(prompt[:64], cache, 0)  # warm-up
            for _ in range(a.runs):
                t0 = time.perf_counter()
                m.forward(prompt, cache, 0).argmax()
                secs.append(time.perf_counter() - t0)
            out["tokens"] = a.tokens
        else:
            W = min(64, prompt.shape[0])  # warm-up: a short prefill and two steps
            tok = int(m.forward(prompt[:W], cache, 0).argmax())
            for i in range(2):
                tok = int(m.forward(torch.tensor([tok]), cache, W + i).argmax())
            for r in range(a.runs):
                tok = int(m.forward(prompt, cache, 0).argmax())  # untimed prefill
                toks = [tok]
                P = prompt.shape[0]
                t0 = time.perf_counter()
                for i in range(n):
                    tok = int(m.forward(torch.tensor([tok]), cache, P + i).argmax())
                    toks.append(tok)
                secs.append(time.perf_counter() - t0)
                if r == 0:
                    out["first_tokens"] = toks[:8]
            out.update(prompt=int(prompt.shape[0]), new_tokens=n, kv_cache=a.weights)
    return secs, (a.tokens if a.workload == "prefill" else n)


class Gpt2(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        E, V, T = a.d_model, a.vocab, a.context
        self.H = a.heads
        self.wte, self.wpe = torch.nn.Embedding(V, E), torch.nn.Embedding(T, E)
        self.blocks = torch.nn.ModuleList()
        for _ in range(a.layers):
            self.blocks.append(torch.nn.ModuleDict(dict(
                ln1=torch.nn.LayerNorm(E), qkv=torch.nn.Linear(E, 3 * E), o=torch.nn.Linear(E, E),
                ln2=torch.nn.LayerNorm(E), fc=torch.nn.Linear(E, a.d_ff), proj=torch.nn.Linear(a.d_ff, E))))
        self.lnf = torch.nn.LayerNorm(E)
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))
        for m in self.modules():  # GPT-2's initialisation (torch's default N(0, 1) embeddings start at loss ~30)
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.zeros_(m.bias)

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            q, k, v = b["qkv"](b["ln1"](x)).view(B, T, 3, self.H, -1).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(q.shape[-1])) + self.mask[:T, :T]
            x = x + b["o"]((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, -1))
            x = x + b["proj"](F.gelu(b["fc"](b["ln2"](x)), approximate="tanh"))
        return self.lnf(x) @ self.wte.weight.t()


def run_train(a, out):
    torch.manual_seed(1)
    data = torch.tensor(list(open(a.text, "rb").read()), dtype=torch.long)
    model = Gpt2(a)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    T = a.context

    def step():
        starts = torch.randint(0, data.numel() - T - 1, (a.batch,))
        xy = torch.stack([data[s:s + T + 1] for s in starts.tolist()])
        loss = F.cross_entropy(model(xy[:, :-1]).reshape(-1, a.vocab), xy[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return float(loss)

    step()  # warm-up
    secs = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            out["last_loss"] = step()
        secs.append(time.perf_counter() - t0)
    out.update(batch=a.batch, steps=a.steps, context=T)
    return secs, a.batch * T * a.steps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=["prefill", "decode", "train"], required=True)
    for k in ("layers", "d-model", "heads", "kv-heads", "d-ff", "vocab"):
        p.add_argument("--" + k, type=int, required=True)
    p.add_argument("--weights", default="f32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--tokens", type=int, default=1024)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--text")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    capability = [x.split(":")[-1].strip() for x in torch.__config__.show().splitlines() if "CPU capability" in x]
    out = dict(peer="torch", workload=a.workload, threads=a.threads, weights=a.weights, torch=torch.__version__,
               torch_threads=torch.get_num_threads(), cpu_capability=capability[0] if capability else "")
    try:
        secs, n = run_train(a, out) if a.workload == "train" else run_inference(a, out)
    except RuntimeError as e:  # e.g. f16 products on torch 1.13's CPU
        out["error"] = str(e).split("\n")[0]
        print(json.dumps(out))
        return 0
    s = sorted(secs)
    out.update(runs_s=secs, tokens_per_s=n / s[len(s) // 2], tokens_per_s_min=n / s[-1], tokens_per_s_max=n / s[0])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
