#!/usr/bin/python3
"""Peer for `attend bench --backward`: PyTorch (CPU, f32) autograd through plain attention.

Times only out.backward(dout) for each head (the forward is rebuilt, untimed, before each run), so
the N x N matrices of one head at a time are live. GFLOP/s uses attend's convention: 2.5 x the
forward's 4·N·N·D per head, counting only the unmasked pairs (N(N+1)/2) when causal.

    /usr/bin/python3 bench/torch_backward.py --n 4096 --d 128 --heads 8 --threads 2 --causal 0 1 --runs 5
"""
import argparse
import statistics
import time

import torch


def one_head(n, d, causal, gen):
    q, k, v, dout = (torch.randn(n, d, generator=gen) for _ in range(4))
    for t in (q, k, v):
        t.requires_grad_(True)
    s = (q @ k.T) * (d ** -0.5)
    if causal:
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    out = torch.softmax(s, dim=-1) @ v
    return out, dout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--causal", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"# torch {torch.__version__} autograd backward, f32, threads {a.threads}, runs {a.runs} (median, min-max)")
    for causal in a.causal:
        pairs = a.n * (a.n + 1) // 2 if causal else a.n * a.n
        flops = 2.5 * 4 * pairs * a.d * a.heads
        times = []
        for _ in range(a.runs + 1):  # the first run warms up and is dropped
            total = 0.0
            for _ in range(a.heads):
                out, dout = one_head(a.n, a.d, causal, gen)
                t0 = time.perf_counter()
                out.backward(dout)
                total += time.perf_counter() - t0
            times.append(total)
        times = times[1:]
        gf = [flops / t / 1e9 for t in times]
        print(f"D {a.d} N {a.n} H {a.heads} causal {'yes' if causal else 'no'}: "
              f"{flops / statistics.median(times) / 1e9:.1f} GFLOP/s ({min(gf):.1f}-{max(gf):.1f})", flush=True)


if __name__ == "__main__":
    main()
