"""attend.flash_attn_func / flash_attn_varlen_func / flash_attn_with_kvcache against a float64 numpy
reference with flash-attn 2's semantics (conftest.attention64: bottom-right aligned causal and
window, ALiBi -slope * |i + Nk - Nq - j|, softcap, GQA; a row with no visible key gives 0), on
numpy arrays and on torch tensors (with gradients against float64 torch autograd)."""
import numpy as np
import pytest

import attend
from conftest import attention64, rand, rel_l2


def flash_lse(lse64):
    """flash-attn writes +inf as the lse of a row with no visible key."""
    return np.where(np.isneginf(lse64), np.inf, lse64)


CASES = [  # B, Nq, Nk, Hq, Hkv, D, options
    (2, 7, 7, 4, 2, 16, {}),
    (1, 5, 65, 2, 1, 32, {"causal": True}),                       # seqlen_q < seqlen_k
    (2, 65, 7, 2, 2, 8, {"causal": True}),                        # seqlen_q > seqlen_k: first rows see nothing
    (1, 33, 33, 3, 3, 7, {"window_size": (4, 2), "softcap": 3.0}),
    (2, 1, 40, 4, 1, 16, {"causal": True, "softmax_scale": 0.25, "alibi": "heads"}),
    (3, 9, 12, 2, 1, 8, {"alibi": "batch"}),                      # (batch, nheads) slopes, distinct rows
]


def make(rng, B, nq, nk, hq, hkv, d, opts):
    q, k, v = rand(rng, (B, nq, hq, d)), rand(rng, (B, nk, hkv, d)), rand(rng, (B, nk, hkv, d))
    o = dict(opts)
    if o.get("alibi") == "heads":
        o["alibi_slopes"] = rng.uniform(0.05, 0.5, hq).astype(np.float32)
    elif o.get("alibi") == "batch":
        o["alibi_slopes"] = rng.uniform(0.05, 0.5, (B, hq)).astype(np.float32)
    o.pop("alibi", None)
    return q, k, v, o


def reference(q, k, v, o):
    """(out, lse) float64 per batch row (alibi may differ per row)."""
    outs, lses = [], []
    for b in range(q.shape[0]):
        slopes = o.get("alibi_slopes")
        if slopes is not None and np.ndim(slopes) == 2:
            slopes = slopes[b]
        out, lse = attention64(q[b:b + 1], k[b:b + 1], v[b:b + 1], causal=o.get("causal", False),
                               window=o.get("window_size", (-1, -1)), logit_scale=o.get("softmax_scale"),
                               softcap=o.get("softcap", 0.0), alibi=slopes)
        outs.append(out)
        lses.append(lse)
    return np.concatenate(outs), np.concatenate(lses)


@pytest.mark.parametrize("case", CASES)
def test_flash_attn_func_numpy(rng, case):
    *shape, opts = case
    q, k, v, o = make(rng, *shape, opts)
    want, want_lse = reference(q, k, v, o)
    out, lse, s_dmask = attend.flash_attn_func(q, k, v, return_attn_probs=True, **o)
    assert out.shape == q.shape[:3] + (v.shape[3],) and out.dtype == np.float32
    assert rel_l2(out, want) <= 1e-5
    np.testing.assert_allclose(lse, flash_lse(want_lse), rtol=1e-5, atol=1e-5)
    assert lse.shape == (q.shape[0], q.shape[2], q.shape[1]) and s_dmask.size == 0
    assert rel_l2(attend.flash_attn_func(q, k, v, **o), want) <= 1e-5  # plain call: out only


def test_flash_attn_func_positional_order_is_flash_attn(rng):
    q, k, v = rand(rng, (1, 9, 2, 8)), rand(rng, (1, 12, 2, 8)), rand(rng, (1, 12, 2, 8))
    # (q, k, v, dropout_p, softmax_scale, causal, window_size, softcap, alibi_slopes, deterministic)
    got = attend.flash_attn_func(q, k, v, 0.0, 0.3, True, (5, 0), 2.0, None, False)
    want, _ = attention64(q, k, v, causal=True, logit_scale=0.3, window=(5, 0), softcap=2.0)
    assert rel_l2(got, want) <= 1e-5
    assert rel_l2(got, attend.attention(q, k, v, causal=True, logit_scale=0.3, window=(5, 0), softcap=2.0)) == 0


def test_flash_attn_func_float16(rng):
    q, k, v = (rand(rng, (2, 17, 2, 16)).astype(np.float16) for _ in range(3))
    want, _ = attention64(q, k, v, causal=True)
    out = attend.flash_attn_func(q, k, v, causal=True)
    assert out.dtype == np.float16 and rel_l2(out, want) <= 2e-3


def split(x, cu):
    return [x[a:b] for a, b in zip(cu, cu[1:])]


@pytest.mark.parametrize("opts", [{}, {"causal": True}, {"window_size": (3, 1)}, {"causal": True, "alibi": "batch"}])
def test_flash_attn_varlen_func_numpy(rng, opts):
    lq, lk = [1, 7, 65, 4], [7, 1, 65, 9]
    cu_q, cu_k = np.cumsum([0] + lq).astype(np.int32), np.cumsum([0] + lk).astype(np.int32)
    hq, hkv, d = 4, 2, 16
    q, k, v = rand(rng, (cu_q[-1], hq, d)), rand(rng, (cu_k[-1], hkv, d)), rand(rng, (cu_k[-1], hkv, d))
    o = dict(opts)
    slopes = rng.uniform(0.05, 0.5, (len(lq), hq)).astype(np.float32) if o.pop("alibi", None) else None
    out, lse, _ = attend.flash_attn_varlen_func(q, k, v, cu_q, cu_k, max(lq), max(lk), alibi_slopes=slopes,
                                                return_attn_probs=True, **o)
    assert out.shape == (cu_q[-1], hq, d) and lse.shape == (hq, cu_q[-1])
    for b, (qb, kb, vb) in enumerate(zip(split(q, cu_q), split(k, cu_k), split(v, cu_k))):
        want, want_lse = attention64(qb[None], kb[None], vb[None], causal=o.get("causal", False),
                                     window=o.get("window_size", (-1, -1)),
                                     alibi=None if slopes is None else slopes[b])
        assert rel_l2(out[cu_q[b]:cu_q[b + 1]], want[0]) <= 1e-5
        np.testing.assert_allclose(lse[:, cu_q[b]:cu_q[b + 1]], flash_lse(want_lse[0]), rtol=1e-5, atol=1e-5)


def test_flash_attn_varlen_checks_max_seqlen_and_offsets(rng):
    q = rand(rng, (10, 2, 8))
    with pytest.raises(ValueError, match="max_seqlen_q = 5 is smaller than the longest sequence"):
        attend.flash_attn_varlen_func(q, q, q, [0, 4, 10], [0, 4, 10], 5, 6)
    with pytest.raises(ValueError, match=r"cu_seqlens_q\[1\] = 4294967300 is outside"):
        attend.flash_attn_varlen_func(q, q, q, np.array([0, 2**32 + 4, 10]), [0, 4, 10], 10, 10)


def test_flash_attn_varlen_paged(rng):
    page, hkv, d = 4, 2, 8
    lens = [6, 9]
    kp, vp = rand(rng, (8, page, hkv, d)), rand(rng, (8, page, hkv, d))  # 8 blocks
    table = np.array([[5, 1, 7], [0, 3, 6]], np.int32)
    q = rand(rng, (5, 4, d))
    cu_q, cu_k = np.array([0, 2, 5], np.int32), np.array([0, 6, 15], np.int32)
    out = attend.flash_attn_varlen_func(q, kp, vp, cu_q, cu_k, 3, 9, causal=True, block_table=table)
    for b, n in enumerate(lens):
        kb = kp[table[b]].reshape(-1, hkv, d)[:n]
        vb = vp[table[b]].reshape(-1, hkv, d)[:n]
        want, _ = attention64(q[None, cu_q[b]:cu_q[b + 1]], kb[None], vb[None], causal=True)
        assert rel_l2(out[cu_q[b]:cu_q[b + 1]], want[0]) <= 1e-5


def test_flash_attn_with_kvcache_appends_in_place_and_attends(rng):
    B, cap, hq, hkv, d, new = 3, 20, 4, 2, 16, 2
    kc, vc = rand(rng, (B + 1, cap, hkv, d)), rand(rng, (B + 1, cap, hkv, d))
    kc0, vc0 = kc.copy(), vc.copy()
    q, k, v = rand(rng, (B, new, hq, d)), rand(rng, (B, new, hkv, d)), rand(rng, (B, new, hkv, d))
    seqlens = np.array([0, 5, 18], np.int32)
    idx = np.array([3, 0, 1], np.int32)
    out, lse = attend.flash_attn_with_kvcache(q, kc, vc, k, v, cache_seqlens=seqlens, cache_batch_idx=idx,
                                              causal=True, return_softmax_lse=True)
    for b in range(B):
        n, row = seqlens[b], idx[b]
        np.testing.assert_array_equal(kc[row, n:n + new], k[b])
        np.testing.assert_array_equal(vc[row, :n], vc0[row, :n])  # earlier tokens untouched
        want, want_lse = attention64(q[b:b + 1], kc[row:row + 1, :n + new], vc[row:row + 1, :n + new], causal=True)
        assert rel_l2(out[b], want[0]) <= 1e-5
        np.testing.assert_allclose(lse[b], want_lse[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(kc[2], kc0[2])  # a row no sequence uses
    with pytest.raises(ValueError, match="do not fit"):
        attend.flash_attn_with_kvcache(q, kc, vc, k, v, cache_seqlens=19, causal=True)
    with pytest.raises(ValueError, match="do not fit"):
        attend.flash_attn_with_kvcache(q, kc, vc, k, v, cache_seqlens=np.int32(19), causal=True)
    # a scalar length (0-d array) is every sequence's; without k/v the cache is only read
    same = attend.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=np.int64(7), causal=True)
    want, _ = attention64(q, kc[:B, :7], vc[:B, :7], causal=True)
    assert rel_l2(same, want) <= 1e-5


def test_flash_attn_with_kvcache_paged_leftpad_and_window(rng):
    page, hkv, d = 4, 1, 8
    kp, vp = rand(rng, (10, page, hkv, d)), rand(rng, (10, page, hkv, d))
    table = np.array([[9, 2, 4], [1, 0, 8]], np.int32)
    q, k, v = rand(rng, (2, 1, 2, d)), rand(rng, (2, 1, hkv, d)), rand(rng, (2, 1, hkv, d))
    seqlens = [7, 3]
    out = attend.flash_attn_with_kvcache(q, kp, vp, k, v, cache_seqlens=np.array(seqlens, np.int32),
                                         block_table=table, window_size=(2, 0))
    for b, n in enumerate(seqlens):
        kb, vb = kp[table[b]].reshape(-1, hkv, d)[:n + 1], vp[table[b]].reshape(-1, hkv, d)[:n + 1]
        np.testing.assert_array_equal(kb[n], k[b, 0])
        want, _ = attention64(q[b:b + 1], kb[None], vb[None], window=(2, 0))
        assert rel_l2(out[b], want[0]) <= 1e-5
    kc, vc = rand(rng, (2, 12, hkv, d)), rand(rng, (2, 12, hkv, d))
    out = attend.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=[9, 12], cache_leftpad=[4, 0], causal=True)
    for b, (start, end) in enumerate([(4, 9), (0, 12)]):
        want, _ = attention64(q[b:b + 1], kc[b:b + 1, start:end], vc[b:b + 1, start:end], causal=True)
        assert rel_l2(out[b], want[0]) <= 1e-5
    with pytest.raises(ValueError, match="rotary"):
        attend.flash_attn_with_kvcache(q, kc, vc, rotary_cos=np.ones((4, 4)), rotary_sin=np.ones((4, 4)))


# ---- torch tensors: torch out, gradients through attend's backward --------------------------------

torch_cases = [(torch_dtype, case) for torch_dtype in ("float32", "float16", "bfloat16") for case in CASES[:5]]


@pytest.mark.parametrize("dtype_name, case", torch_cases)
def test_flash_attn_func_torch_with_gradients(rng, dtype_name, case):
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, dtype_name)
    tol = {"float32": (1e-5, 1e-4), "float16": (2e-3, 5e-3), "bfloat16": (1.6e-2, 4e-2)}[dtype_name]
    *shape, opts = case
    q, k, v, o = make(rng, *shape, opts)
    xs = [torch.tensor(x).to(dtype).requires_grad_() for x in (q, k, v)]
    x64 = [x.detach().double().requires_grad_() for x in xs]
    to = {key: (torch.tensor(val) if isinstance(val, np.ndarray) else val) for key, val in o.items()}
    out = attend.flash_attn_func(*xs, **to)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype
    want = torch_flash64(*x64, o)
    assert rel(out, want) <= tol[0]
    g = torch.randn(want.shape, dtype=torch.float64)
    out.backward(g.to(dtype))
    want.backward(g)
    for x, y in zip(xs, x64):
        assert rel(x.grad, y.grad) <= tol[1]


def rel(a, b):
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).norm() / max(b.norm().item(), 1e-3 * b.numel() ** 0.5)).item()


def torch_flash64(q, k, v, o):
    """flash-attn's semantics in float64 torch with autograd; q: [B, Nq, Hq, D]."""
    import torch
    hq, hkv = q.shape[2], k.shape[2]
    qh, kh, vh = (x.transpose(1, 2) for x in (q, k, v))
    kh, vh = kh.repeat_interleave(hq // hkv, 1), vh.repeat_interleave(hq // hkv, 1)
    scale = o.get("softmax_scale") or 1 / q.shape[-1] ** 0.5
    s = qh @ kh.transpose(-1, -2) * scale
    if o.get("softcap", 0) > 0:
        s = o["softcap"] * torch.tanh(s / o["softcap"])
    nq, nk = q.shape[1], k.shape[1]
    ip = torch.arange(nq)[:, None] + (nk - nq)
    j = torch.arange(nk)[None, :]
    if o.get("alibi_slopes") is not None:
        s = s - torch.tensor(o["alibi_slopes"], dtype=torch.float64)[None, :, None, None] * (ip - j).abs()
    hidden = torch.zeros(nq, nk, dtype=torch.bool)
    left, right = o.get("window_size", (-1, -1))
    if o.get("causal"):
        hidden |= j > ip
    if left >= 0:
        hidden |= j < ip - left
    if right >= 0:
        hidden |= j > ip + right
    s = s.masked_fill(hidden, float("-inf"))
    m = s.amax(-1, keepdim=True).clamp_min(-1e300)
    p = torch.exp(s - m)
    w = p / p.sum(-1, keepdim=True).clamp_min(1e-300)  # a row with no key: 0, as flash-attn
    return (w @ vh).transpose(1, 2)


def test_flash_varlen_and_kvcache_torch(rng):
    torch = pytest.importorskip("torch")
    q, k, v = (torch.tensor(rand(rng, (12, 2, 8)), requires_grad=True) for _ in range(3))
    cu = torch.tensor([0, 5, 12], dtype=torch.int32)
    out, lse, _ = attend.flash_attn_varlen_func(q, k, v, cu, cu, 7, 7, causal=True, return_attn_probs=True)
    assert isinstance(out, torch.Tensor) and lse.shape == (2, 12)
    out.sum().backward()
    for a, b in ((0, 5), (5, 12)):
        want, _ = attention64(q.detach().numpy()[None, a:b], k.detach().numpy()[None, a:b],
                              v.detach().numpy()[None, a:b], causal=True)
        assert rel_l2(out.detach().numpy()[a:b], want[0]) <= 1e-5
    assert torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0
    kc, vc = torch.zeros(2, 8, 2, 8, dtype=torch.bfloat16), torch.zeros(2, 8, 2, 8, dtype=torch.bfloat16)
    kn, vn = torch.randn(2, 3, 2, 8, dtype=torch.bfloat16), torch.randn(2, 3, 2, 8, dtype=torch.bfloat16)
    qq = torch.randn(2, 3, 2, 8, dtype=torch.bfloat16)
    res = attend.flash_attn_with_kvcache(qq, kc, vc, kn, vn, cache_seqlens=torch.tensor([0, 4], dtype=torch.int32),
                                         causal=True)
    assert res.dtype == torch.bfloat16 and torch.equal(kc[1, 4:7], kn[1]) and torch.equal(kc[0, :3], kn[0])
    want, _ = attention64(qq[1:].float().numpy(), kc[1:, :7].float().numpy(), vc[1:, :7].float().numpy(), causal=True)
    assert rel_l2(res[1:].float().numpy(), want) <= 1.6e-2


def test_flash_entry_points_refuse_other_libraries_keywords(rng):
    q = rand(rng, (1, 4, 2, 8))
    with pytest.raises(TypeError, match="'is_causal' is torch's keyword; use attend.torch.scaled_dot_product_attention"):
        attend.flash_attn_func(q, q, q, is_causal=True)
    with pytest.raises(TypeError, match="unexpected keyword 'window'"):
        attend.flash_attn_func(q, q, q, window=(1, 1))
    with pytest.raises(ValueError, match="return_attn_probs=True with dropout_p > 0"):
        attend.flash_attn_func(q, q, q, 0.1, return_attn_probs=True)
