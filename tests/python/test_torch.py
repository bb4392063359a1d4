"""Outputs and gradients equal torch's (explicit attention math with autograd, float64)."""
import numpy as np
import pytest

import attend
from conftest import rand, rel_l2

torch = pytest.importorskip("torch")


def torch_attention(q, k, v, causal=False, window=(-1, -1), logit_scale=None, softcap=0.0, bias=None, alibi=None):
    """q: [B, Nq, Hq, D] float64 tensors (autograd); returns out [B, Nq, Hq, Dv]."""
    hq, hkv = q.shape[2], k.shape[2]
    qh, kh, vh = (x.transpose(1, 2) for x in (q, k, v))
    kh, vh = kh.repeat_interleave(hq // hkv, dim=1), vh.repeat_interleave(hq // hkv, dim=1)
    scale = 1.0 / q.shape[-1] ** 0.5 if logit_scale is None else logit_scale
    s = qh @ kh.transpose(-1, -2) * scale
    if softcap > 0:
        s = softcap * torch.tanh(s / softcap)
    if bias is not None:
        s = s + bias
    nq, nk = q.shape[1], k.shape[1]
    ip = torch.arange(nq)[:, None] + (nk - nq)
    j = torch.arange(nk)[None, :]
    if alibi is not None:
        s = s - alibi[None, :, None, None] * (ip - j).abs()
    hidden = torch.zeros(nq, nk, dtype=torch.bool)
    if causal:
        hidden |= j > ip
    if window[0] >= 0:
        hidden |= j < ip - window[0]
    if window[1] >= 0:
        hidden |= j > ip + window[1]
    s = s.masked_fill(hidden, float("-inf"))
    return (torch.softmax(s, dim=-1) @ vh).transpose(1, 2)


@pytest.mark.parametrize("opts", [
    {},
    {"causal": True},
    {"window": (5, 2), "softcap": 3.0},
    {"causal": True, "alibi": True, "logit_scale": 0.2},
    {"bias": True},
])
@pytest.mark.parametrize("shape", [(2, 7, 7, 4, 2, 16), (1, 65, 80, 2, 2, 32)])
def test_outputs_and_gradients_equal_torch(rng, opts, shape):
    B, nq, nk, hq, hkv, d = shape
    q, k, v, dout = rand(rng, (B, nq, hq, d)), rand(rng, (B, nk, hkv, d)), rand(rng, (B, nk, hkv, d)), rand(rng, (B, nq, hq, d))
    o = dict(opts)
    if o.get("alibi"):
        o["alibi"] = rng.uniform(0.05, 0.5, hq).astype(np.float32)
    if o.get("bias"):
        o["bias"] = rand(rng, (B, hq, nq, nk))
    tq, tk, tv = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (q, k, v))
    tb = torch.tensor(o["bias"], dtype=torch.float64, requires_grad=True) if "bias" in o else None
    ta = torch.tensor(o["alibi"], dtype=torch.float64) if "alibi" in o else None
    targs = {kk: vv for kk, vv in o.items() if kk not in ("bias", "alibi")}
    tout = torch_attention(tq, tk, tv, bias=tb, alibi=ta, **targs)
    tout.backward(torch.tensor(dout, dtype=torch.float64))

    out, lse = attend.attention(q, k, v, return_lse=True, **o)
    assert rel_l2(out, tout.detach().numpy()) <= 1e-5
    grads = attend.attention_backward(q, k, v, out, dout, lse, return_dbias="bias" in o, **o)
    for g, t in zip(grads, (tq, tk, tv, tb)):
        assert rel_l2(g, t.grad.numpy()) <= 1e-4


def test_float16_matches_torch(rng):
    q, k, v = (rand(rng, (1, 33, 2, 16)) for _ in range(3))
    q16, k16, v16 = (x.astype(np.float16) for x in (q, k, v))
    want = torch_attention(*(torch.tensor(x.astype(np.float64)) for x in (q16, k16, v16)), causal=True)
    out = attend.attention(q16, k16, v16, causal=True)
    assert rel_l2(out, want.numpy()) <= 4 * 2.0**-11


def test_generic_entry_points_take_and_return_torch_tensors(rng):
    """attend.attention / attention_backward / decode with torch tensors: torch out, attend's own
    semantics (bottom-right causal, layout), differentiable through attend's backward."""
    q, k, v = (torch.tensor(rand(rng, s), requires_grad=True) for s in ((2, 3, 5, 16), (2, 1, 9, 16), (2, 1, 9, 8)))
    out = attend.attention(q, k, v, causal=True, layout="bhsd")  # [B, H, N, D], GQA 3:1
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 5, 8) and out.grad_fn is not None
    q64, k64, v64 = (x.detach().double().transpose(1, 2).requires_grad_() for x in (q, k, v))
    want = torch_attention(q64, k64, v64, causal=True).transpose(1, 2)
    assert rel_l2(out.detach().numpy(), want.detach().numpy()) <= 1e-5
    g = torch.randn(want.shape, dtype=torch.float64)
    out.backward(g.float())
    want.backward(g)
    for x, y in ((q, q64), (k, k64), (v, v64)):
        assert rel_l2(x.grad.numpy(), y.grad.transpose(1, 2).numpy()) <= 1e-4
    with torch.no_grad():
        o, lse = attend.attention(q, k, v, causal=True, layout="bhsd", return_lse=True)
        grads = attend.attention_backward(q, k, v, o, g.float(), lse, causal=True, layout="bhsd")
    assert all(isinstance(t, torch.Tensor) for t in grads)
    for got, x in zip(grads, (q, k, v)):
        assert rel_l2(got.numpy(), x.grad.numpy()) <= 1e-5

    cache = attend.KVCache(1, 16, 2, 8)
    kv = rand(rng, (6, 2, 8))
    cache.append(0, kv, kv)
    qd = torch.tensor(rand(rng, (1, 2, 4, 8)), dtype=torch.bfloat16)
    got = attend.decode(qd, cache)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.bfloat16 and got.shape == (1, 2, 4, 8)
    want = attend.decode(qd.float().numpy(), cache)
    assert rel_l2(got.float().numpy(), want) <= 1e-2
