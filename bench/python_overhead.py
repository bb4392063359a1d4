#!/usr/bin/env python3
"""Python call overhead: attend.attention from Python vs the same attend::attention call timed in
C++ (attend._time_cpp_attention) on the same arrays, in one process, runs interleaved.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--n 4096] [--d 128] [--heads 8]

The Python time includes argument parsing, the numpy views, allocating the output and releasing /
re-taking the GIL; the C++ time is the kernel call with a preallocated output (as `attend bench`).
Layout [B, H, N, D] (layout='bhsd'), float32, as `attend bench`.
"""
import argparse
import statistics
import time

import numpy as np

import attend


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--causal", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    q, k, v = (rng.uniform(-1, 1, (1, a.heads, a.n, a.d)).astype(np.float32) for _ in range(3))
    kw = dict(causal=a.causal, layout="bhsd", threads=a.threads)
    attend.attention(q, k, v, **kw)  # warm-up (pool start, page faults)
    attend._time_cpp_attention(q, k, v, runs=1, **kw)
    py_t, cpp_t = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        attend.attention(q, k, v, **kw)
        py_t.append(time.perf_counter() - t0)
        cpp_t.append(attend._time_cpp_attention(q, k, v, runs=1, **kw)[0])
    mp, mc = statistics.median(py_t), statistics.median(cpp_t)
    ratios = [p / c for p, c in zip(py_t, cpp_t)]
    print(f"# attend {attend.__version__}, isa {attend.isa_info()['active']}, threads {a.threads or attend.num_threads()}, "
          f"N={a.n} D={a.d} H={a.heads} causal={a.causal}, {a.runs} interleaved runs")
    print(f"python  median {mp * 1e3:9.2f} ms  (min–max {min(py_t) * 1e3:.2f}–{max(py_t) * 1e3:.2f})")
    print(f"c++     median {mc * 1e3:9.2f} ms  (min–max {min(cpp_t) * 1e3:.2f}–{max(cpp_t) * 1e3:.2f})")
    print(f"overhead median {100 * (mp / mc - 1):+.2f} %  (per-pair ratio median {statistics.median(ratios):.4f}, "
          f"min–max {min(ratios):.4f}–{max(ratios):.4f})")


if __name__ == "__main__":
    main()
