"""attend.attention_backward against a numpy float64 backward and the C++ reference."""
import numpy as np
import pytest

import attend
from conftest import attention64, logits64, rand, rel_l2


def backward64(q, k, v, dout, **opts):
    """(dq, dk, dv, dbias[B, Hq, Nq, Nk]) in float64 for the options of logits64 except softcap."""
    assert opts.get("softcap", 0) == 0
    hq, hkv = q.shape[2], k.shape[2]
    g = hq // hkv
    d = q.shape[3]
    scale = opts.get("logit_scale") or 1.0 / np.sqrt(d)
    s = logits64(q, k, **opts)
    out, lse = attention64(q, k, v, **opts)
    with np.errstate(invalid="ignore"):
        p = np.where(np.isfinite(lse)[..., None], np.exp(s - lse[..., None]), 0.0)  # [B, H, i, j]
    vv = np.repeat(np.asarray(v, np.float64), g, axis=2)
    kk = np.repeat(np.asarray(k, np.float64), g, axis=2)
    do = np.asarray(dout, np.float64)
    dv = np.einsum("bhij,bihd->bjhd", p, do)
    dp = np.einsum("bihd,bjhd->bhij", do, vv)
    delta = np.einsum("bihd,bihd->bhi", do, out)
    ds = p * (dp - delta[..., None])  # d loss / d s (after bias and alibi)
    dq = np.einsum("bhij,bjhd->bihd", ds, kk) * scale
    dk = np.einsum("bhij,bihd->bjhd", ds, np.asarray(q, np.float64)) * scale
    fold = lambda x: x.reshape(x.shape[0], x.shape[1], hkv, g, x.shape[3]).sum(axis=3)
    return dq, fold(dk), fold(dv), ds


@pytest.mark.parametrize("shape", [(1, 1, 1, 1, 1, 4), (2, 7, 9, 4, 2, 16), (1, 65, 65, 2, 1, 32)])
@pytest.mark.parametrize("opts", [{}, {"causal": True}, {"window": (4, 1)}, {"bias": True}, {"alibi": True, "causal": True}])
def test_backward_matches_float64(rng, shape, opts):
    B, nq, nk, hq, hkv, d = shape
    q, k, v = rand(rng, (B, nq, hq, d)), rand(rng, (B, nk, hkv, d)), rand(rng, (B, nk, hkv, d))
    dout = rand(rng, (B, nq, hq, d))
    o = dict(opts)
    if o.get("bias"):
        o["bias"] = rand(rng, (1, hq, nq, nk))  # broadcast over the batch: dbias sums it
    if o.get("alibi"):
        o["alibi"] = rng.uniform(0.05, 0.5, hq).astype(np.float32)
    out, lse = attend.attention(q, k, v, return_lse=True, **o)
    want = backward64(q, k, v, dout, **o)
    for fn in (attend.attention_backward, attend.reference.attention_backward):
        got = fn(q, k, v, out, dout, lse, return_dbias="bias" in o, **o)
        for g, w in zip(got[:3], want[:3]):
            assert g.shape == w.shape and g.dtype == np.float32
            assert rel_l2(g, w) <= 1e-4
        if "bias" in o:
            assert got[3].shape == o["bias"].shape
            assert rel_l2(got[3], want[3].sum(axis=0, keepdims=True)) <= 1e-4


def test_backward_bhsd_layout_and_determinism(rng):
    q, k, v, dout = (rand(rng, (2, 4, 40, 16)) for _ in range(4))  # [B, H, N, D]
    out, lse = attend.attention(q, k, v, layout="bhsd", causal=True, return_lse=True)
    a = attend.attention_backward(q, k, v, out, dout, lse, layout="bhsd", causal=True, deterministic=True, threads=1)
    b = attend.attention_backward(q, k, v, out, dout, lse, layout="bhsd", causal=True, deterministic=True, threads=2)
    t = lambda x: x.transpose(0, 2, 1, 3)
    want = backward64(t(q), t(k), t(v), t(dout), causal=True)
    for x, y, w in zip(a, b, want):
        np.testing.assert_array_equal(x, y)
        assert x.shape == (2, 4, 40, 16) and rel_l2(t(x), w) <= 1e-4


def test_return_dbias_needs_a_float_bias(rng):
    q = rand(rng, (1, 4, 1, 8))
    out, lse = attend.attention(q, q, q, return_lse=True)
    with pytest.raises(ValueError, match="attention_backward: return_dbias=True needs a bias"):
        attend.attention_backward(q, q, q, out, q, lse, return_dbias=True)
