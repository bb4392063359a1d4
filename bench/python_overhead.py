#!/usr/bin/env python3
"""Python call overhead: attend.attention from Python vs the same attend::attention call timed in
C++ (attend._time_cpp_attention) on the same arrays, in one process, runs interleaved.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--n 4096] [--d 128] [--heads 8]

The Python time includes argument parsing, the zero-copy numpy views and releasing / re-taking the
GIL; the output is preallocated once and passed as out= (as the C++ side preallocates it; pass
--alloc to let each Python call allocate its output instead). The C++ time is the kernel call
with a preallocated output (as `attend bench`). Python and C++ take turns going first, pair by
pair, so neither always runs on a warmer machine. A second measurement times both at N = 16,
where the kernel is nearly free, to show the fixed cost per call in microseconds.
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
    ap.add_argument("--alloc", action="store_true", help="let each Python call allocate its output (no out=)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    q, k, v = (rng.uniform(-1, 1, (1, a.heads, a.n, a.d)).astype(np.float32) for _ in range(3))
    ap_alloc = a.alloc
    kw = dict(causal=a.causal, layout="bhsd", threads=a.threads)
    out = np.empty_like(q)
    pykw = kw if ap_alloc else dict(kw, out=out)
    attend.attention(q, k, v, **pykw)  # warm-up (pool start, page faults)
    attend._time_cpp_attention(q, k, v, runs=1, **kw)
    py_t, cpp_t = [], []

    def py_call():
        t0 = time.perf_counter()
        attend.attention(q, k, v, **pykw)
        py_t.append(time.perf_counter() - t0)

    def cpp_call():
        cpp_t.append(attend._time_cpp_attention(q, k, v, runs=1, **kw)[0])

    for r in range(a.runs):
        for f in ((py_call, cpp_call) if r % 2 == 0 else (cpp_call, py_call)):
            f()
    mp, mc = statistics.median(py_t), statistics.median(cpp_t)
    ratios = [p / c for p, c in zip(py_t, cpp_t)]
    print(f"# attend {attend.__version__}, isa {attend.isa_info()['active']}, threads {a.threads or attend.num_threads()}, "
          f"N={a.n} D={a.d} H={a.heads} causal={a.causal}, {a.runs} interleaved runs (order alternating), "
          f"output {'allocated per call' if ap_alloc else 'preallocated (out=)'}")
    print(f"python  median {mp * 1e3:9.2f} ms  (min–max {min(py_t) * 1e3:.2f}–{max(py_t) * 1e3:.2f})")
    print(f"c++     median {mc * 1e3:9.2f} ms  (min–max {min(cpp_t) * 1e3:.2f}–{max(cpp_t) * 1e3:.2f})")
    print(f"overhead median {100 * (mp / mc - 1):+.2f} %  (per-pair ratio median {statistics.median(ratios):.4f}, "
          f"min–max {min(ratios):.4f}–{max(ratios):.4f})")
    # Fixed cost per call: N = 16, many calls, median of per-call times.
    qs, ks, vs = (x[:, :, :16].copy() for x in (q, k, v))
    outs = np.empty_like(qs)
    skw = kw if ap_alloc else dict(kw, out=outs)
    small_py, small_cpp = [], []
    for _ in range(200):
        t0 = time.perf_counter()
        attend.attention(qs, ks, vs, **skw)
        small_py.append(time.perf_counter() - t0)
        small_cpp.append(attend._time_cpp_attention(qs, ks, vs, runs=1, **kw)[0])
    fixed = statistics.median(small_py) - statistics.median(small_cpp)
    print(f"fixed cost per call at N=16: python {statistics.median(small_py) * 1e6:.1f} us, c++ {statistics.median(small_cpp) * 1e6:.1f} us, "
          f"difference {fixed * 1e6:.1f} us = {100 * fixed / mc:.4f} % of the N={a.n} call")

if __name__ == "__main__":
    main()
