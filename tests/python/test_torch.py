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
