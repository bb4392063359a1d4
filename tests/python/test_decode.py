"""attend.KVCache / PagedKVCache and attend.decode against the float64 reference."""
import numpy as np
import pytest

import attend
from conftest import attention64, rand, rel_l2


def fill(cache, rng, lengths, g, d, dv, seq_ids=None):
    ks, vs = [], []
    for i, n in enumerate(lengths):
        s = i if seq_ids is None else seq_ids[i]
        k, v = rand(rng, (n, g, d)), rand(rng, (n, g, dv))
        for a in range(0, n, 5):  # appended in pieces
            cache.append(s, k[a:a + 5], v[a:a + 5])
        ks.append(k)
        vs.append(v)
    return ks, vs


@pytest.mark.parametrize("T", [1, 3])
def test_decode_contiguous_cache(rng, T):
    g, hq, d, dv, lengths = 2, 4, 16, 8, [7, 65, 1]
    cache = attend.KVCache(3, 80, g, d, value_dim=dv)
    ks, vs = fill(cache, rng, lengths, g, d, dv)
    q = rand(rng, (3, T, hq, d))[:, :, :, :]
    if T > 1:
        q = q[:2]
        lengths = lengths[:2]
    out, lse = attend.decode(q, cache, return_lse=True, sequences=list(range(len(lengths))))
    assert out.shape == (len(lengths), T, hq, dv) and lse.shape == (len(lengths), hq, T)
    for s, n in enumerate(lengths):
        want, want_lse = attention64(q[s:s + 1], ks[s][None], vs[s][None], causal=True)
        assert rel_l2(out[s:s + 1], want) <= 1e-5
        np.testing.assert_allclose(lse[s], want_lse[0], rtol=1e-5, atol=1e-5)
    assert cache.length(1) == 65 and cache.keys(1).shape == (65, g, d)
    np.testing.assert_array_equal(cache.values(0), vs[0])


def test_decode_window_and_eviction(rng):
    g, hq, d = 1, 2, 8
    cache = attend.KVCache(1, 24, g, d, window=16, sink_tokens=2)
    ks, vs = fill(cache, rng, [50], g, d, d)
    kept = np.array(cache.kept_positions(0))
    assert kept[0] == 0 and kept[1] == 1 and len(kept) == 18
    q = rand(rng, (1, 1, hq, d))
    out = attend.decode(q, cache, softcap=3.0, alibi=[0.1, 0.3])
    # ALiBi by position distance (query at position 49), soft-cap, over the kept tokens only
    qq, kk, vv = (x.astype(np.float64) for x in (q, ks[0][kept], vs[0][kept]))
    logits = np.einsum("hd,jd->hj", qq[0, 0], kk[:, 0]) / np.sqrt(d)
    logits = 3.0 * np.tanh(logits / 3.0) - np.array([0.1, 0.3])[:, None] * (49 - kept)[None, :]
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    assert rel_l2(out[0, 0], w @ vv[:, 0]) <= 1e-5


def test_paged_cache_fork_and_decode(rng):
    g, hq, d = 2, 4, 16
    cache = attend.PagedKVCache(32, 8, g, d)
    a = cache.add_sequence()
    ks, vs = fill(cache, rng, [20], g, d, d, seq_ids=[a])
    b = cache.fork(a)
    kb, vb = rand(rng, (3, g, d)), rand(rng, (3, g, d))
    cache.append(b, kb, vb)
    assert cache.length(a) == 20 and cache.length(b) == 23 and len(cache.block_table(b)) == 3
    q = rand(rng, (2, 1, hq, d))
    out = attend.decode(q, cache, sequences=[a, b])
    want_a, _ = attention64(q[0:1], ks[0][None], vs[0][None], causal=True)
    want_b, _ = attention64(q[1:2], np.concatenate([ks[0], kb])[None], np.concatenate([vs[0], vb])[None], causal=True)
    assert rel_l2(out[0:1], want_a) <= 1e-5 and rel_l2(out[1:2], want_b) <= 1e-5


def test_decode_errors():
    cache = attend.KVCache(1, 4, 1, 8)
    with pytest.raises(ValueError, match="KVCache.append|append"):
        cache.append(0, np.zeros((9, 1, 8), np.float32), np.zeros((9, 1, 8), np.float32))
    with pytest.raises(ValueError, match="decode: cache must be an attend.KVCache"):
        attend.decode(np.zeros((1, 1, 1, 8), np.float32), object())
    with pytest.raises(ValueError, match="KVCache: dtype must be"):
        attend.KVCache(1, 4, 1, 8, dtype="int8")
