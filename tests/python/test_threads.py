"""Several Python threads calling at once: correct results, and the calls overlap (GIL released)."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import attend
from conftest import attention64, rand, rel_l2


def test_concurrent_calls_give_correct_results():
    rng = np.random.default_rng(7)
    jobs = []
    for i in range(12):
        n = 20 + 7 * i
        jobs.append((rand(rng, (1, n, 4, 16)), rand(rng, (1, n, 2, 16)), rand(rng, (1, n, 2, 16)), i % 2 == 0))
    want = [attention64(q, k, v, causal=c)[0] for q, k, v, c in jobs]

    def run(job):
        q, k, v, c = job
        outs = [attend.attention(q, k, v, causal=c, threads=1 + (q.shape[1] % 2)) for _ in range(5)]
        return outs

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs))
    for outs, w in zip(results, want):
        for o in outs:
            assert rel_l2(o, w) <= 1e-5


def test_gil_is_released_during_compute():
    rng = np.random.default_rng(8)
    q, k, v = rand(rng, (1, 512, 4, 64)), rand(rng, (1, 512, 4, 64)), rand(rng, (1, 512, 4, 64))
    span = {}

    def worker():
        span["start"] = time.perf_counter()
        attend.reference.attention(q, k, v, threads=1)  # slow double-precision call: ~0.1-1 s
        span["end"] = time.perf_counter()

    t = threading.Thread(target=worker)
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    duration = span["end"] - span["start"]
    assert duration > 0.05, "the call was too short to observe"
    # Python bytecode kept running in this thread while the call was in C++ (held GIL: ~none).
    inside = [x for x in ticks if span["start"] + 0.01 < x < span["end"] - 0.01]
    assert len(inside) > 1000
