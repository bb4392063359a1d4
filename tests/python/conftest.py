"""Shared helpers: the numpy float64 reference (the same contract as include/attend/attention.h)
and bf16 conversions. Run with PYTHONPATH=<build>/python (ctest sets it)."""
import numpy as np
import pytest

import attend  # noqa: F401  (fail early and clearly when the module is not on PYTHONPATH)


def rand(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def f32_to_bf16_bits(x):
    """Round float32 to bf16 (nearest even); returns the uint16 bits."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (np.asarray(b).astype(np.uint32) << 16).view(np.float32)


def logits64(q, k, *, causal=False, window=(-1, -1), logit_scale=None, softcap=0.0, bias=None, alibi=None):
    """s[b, h, i, j] in float64 with the mask applied (-inf); q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D]."""
    q = np.asarray(q, np.float64)
    k = np.asarray(k, np.float64)
    B, nq, hq, d = q.shape
    nk, hkv = k.shape[1], k.shape[2]
    kk = np.repeat(k, hq // hkv, axis=2)
    scale = 1.0 / np.sqrt(d) if logit_scale is None else logit_scale
    s = np.einsum("bihd,bjhd->bhij", q, kk) * scale
    if softcap > 0:
        s = softcap * np.tanh(s / softcap)
    if bias is not None:
        s = s + np.asarray(bias, np.float64)
    ip = np.arange(nq)[:, None] + (nk - nq)
    j = np.arange(nk)[None, :]
    if alibi is not None:
        s = s - np.asarray(alibi, np.float64)[None, :, None, None] * np.abs(ip - j)
    visible = np.ones((nq, nk), bool)
    if causal:
        visible &= j <= ip
    left, right = window
    if left >= 0:
        visible &= j >= ip - left
    if right >= 0:
        visible &= j <= ip + right
    return np.where(visible, s, -np.inf)


def attention64(q, k, v, **opts):
    """(out [B, Nq, Hq, Dv], lse [B, Hq, Nq]) in float64; a fully masked row gives 0 and -inf."""
    s = logits64(q, k, **opts)
    hq, hkv = np.shape(q)[2], np.shape(k)[2]
    vv = np.repeat(np.asarray(v, np.float64), hq // hkv, axis=2)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(l > 0, p / l, 0.0)
        lse = np.where(l[..., 0] > 0, np.log(l[..., 0]) + m[..., 0], -np.inf)
    out = np.einsum("bhij,bjhd->bihd", w, vv)
    return out, lse


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    den = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (den if den > 0 else 1.0)


@pytest.fixture
def rng(request):
    return np.random.default_rng(abs(hash(request.node.name)) % (2**32))
