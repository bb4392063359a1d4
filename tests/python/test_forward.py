"""attend.attention and attend.reference.attention against the numpy float64 reference."""
import numpy as np
import pytest

import attend
from conftest import attention64, bf16_bits_to_f32, f32_to_bf16_bits, rand, rel_l2

F32_TOL = 1e-5  # relative L2 against float64 (DESIGN.md)

SHAPES = [  # B, Nq, Nk, Hq, Hkv, D, Dv
    (1, 1, 1, 1, 1, 1, 1),
    (2, 7, 7, 4, 2, 16, 16),
    (1, 65, 65, 2, 1, 64, 32),
    (1, 1000, 1000, 1, 1, 7, 7),
    (3, 5, 65, 6, 3, 32, 32),
]

OPTIONS = [
    {},
    {"causal": True},
    {"window": (3, 0)},
    {"window": (5, 2), "softcap": 2.5},
    {"causal": True, "logit_scale": 0.3},
    {"causal": True, "logit_scale": 0.2, "alibi": "slopes"},
    {"bias": "full"},
]


def make_opts(o, rng, B, nq, nk, hq):
    o = dict(o)
    if o.get("alibi") == "slopes":
        o["alibi"] = rng.uniform(0.01, 0.5, hq).astype(np.float32)
    if o.get("bias") == "full":
        o["bias"] = rand(rng, (B, hq, nq, nk))
    return o


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("opts", OPTIONS)
def test_forward_matches_float64(rng, shape, opts):
    B, nq, nk, hq, hkv, d, dv = shape
    q, k, v = rand(rng, (B, nq, hq, d)), rand(rng, (B, nk, hkv, d)), rand(rng, (B, nk, hkv, dv))
    o = make_opts(opts, rng, B, nq, nk, hq)
    out, lse = attend.attention(q, k, v, return_lse=True, **o)
    want, want_lse = attention64(q, k, v, **o)
    assert out.dtype == np.float32 and out.shape == (B, nq, hq, dv) and lse.shape == (B, hq, nq)
    assert rel_l2(out, want) <= F32_TOL
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)
    ref_out = attend.reference.attention(q, k, v, **o)
    assert rel_l2(ref_out, want) <= 1e-6


def test_fully_masked_rows_are_zero_with_lse_minus_inf(rng):
    q, k, v = rand(rng, (1, 9, 2, 8)), rand(rng, (1, 9, 2, 8)), rand(rng, (1, 9, 2, 8))
    bias = np.zeros((9, 9), np.float32)
    bias[3, :] = -np.inf  # row 3 sees nothing
    out, lse = attend.attention(q, k, v, bias=bias, return_lse=True)
    assert np.all(out[0, 3] == 0) and np.all(np.isneginf(lse[0, :, 3]))
    want, _ = attention64(q, k, v, bias=bias)
    assert rel_l2(out, want) <= F32_TOL and np.all(np.isfinite(out))


def test_bool_mask_true_takes_part(rng):
    q, k, v = rand(rng, (2, 6, 2, 8)), rand(rng, (2, 6, 2, 8)), rand(rng, (2, 6, 2, 8))
    mask = rng.random((6, 6)) < 0.6
    mask[:, 0] = True
    out = attend.attention(q, k, v, bias=mask)
    want, _ = attention64(q, k, v, bias=np.where(mask, 0.0, -np.inf))
    assert rel_l2(out, want) <= F32_TOL


def test_bhsd_layout_matches_bshd(rng):
    q, k, v = rand(rng, (2, 3, 33, 16)), rand(rng, (2, 1, 40, 16)), rand(rng, (2, 1, 40, 8))  # [B, H, N, D]
    out, lse = attend.attention(q, k, v, layout="bhsd", causal=True, return_lse=True)
    assert out.shape == (2, 3, 33, 8)
    t = lambda x: x.transpose(0, 2, 1, 3)
    want, want_lse = attention64(t(q), t(k), t(v), causal=True)
    assert rel_l2(t(out), want) <= F32_TOL
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)


def test_non_contiguous_views_zero_copy(rng):
    base = rand(rng, (2, 3, 20, 4, 24))
    q = base[:, 0, :, :, :16]            # strided in every dimension
    k = base[:, 1, ::2, :2, 4:20]        # every other key, 2 KV heads
    v = base[:, 2, ::2, :2, :8]
    out = attend.attention(q, k, v)
    want, _ = attention64(q, k, v)
    assert rel_l2(out, want) <= F32_TOL


def test_negative_strides_and_unaligned_inputs_are_copied(rng):
    q, k, v = rand(rng, (1, 12, 2, 8)), rand(rng, (1, 12, 2, 8)), rand(rng, (1, 12, 2, 8))
    raw = np.zeros(q.nbytes + 1, np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(q.shape)  # data pointer not a multiple of 4
    unaligned[...] = q
    assert unaligned.ctypes.data % 4 != 0
    out = attend.attention(unaligned, k[:, ::-1], v[:, ::-1])
    want, _ = attention64(q, k[:, ::-1], v[:, ::-1])
    assert rel_l2(out, want) <= F32_TOL


def test_packed_ragged_batch(rng):
    lq, lk = [3, 0, 7], [5, 4, 7]
    cu_q, cu_k = np.cumsum([0] + lq).astype(np.int32), np.cumsum([0] + lk).astype(np.int32)
    q, k, v = rand(rng, (sum(lq), 4, 8)), rand(rng, (sum(lk), 2, 8)), rand(rng, (sum(lk), 2, 8))
    out = attend.attention(q, k, v, causal=True, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k)
    assert out.shape == (sum(lq), 4, 8)
    for b in range(3):
        if lq[b] == 0:
            continue
        sq, sk = slice(cu_q[b], cu_q[b + 1]), slice(cu_k[b], cu_k[b + 1])
        want, _ = attention64(q[None, sq], k[None, sk], v[None, sk], causal=True)
        assert rel_l2(out[sq], want[0]) <= F32_TOL


def test_padded_seqlens_k(rng):
    q, k, v = rand(rng, (2, 4, 2, 8)), rand(rng, (2, 10, 2, 8)), rand(rng, (2, 10, 2, 8))
    lens = np.array([6, 10], np.int32)
    out = attend.attention(q, k, v, seqlens_k=lens, causal=True)
    for b in range(2):
        n = lens[b]
        want, _ = attention64(q[b:b + 1], k[b:b + 1, :n], v[b:b + 1, :n], causal=True)
        assert rel_l2(out[b:b + 1], want) <= F32_TOL


def test_float16(rng):
    q, k, v = (rand(rng, (2, 65, 4, 32), np.float16) for _ in range(3))
    out = attend.attention(q, k, v, causal=True)
    assert out.dtype == np.float16
    want, _ = attention64(q, k, v, causal=True)
    assert rel_l2(out, want) <= 4 * 2.0**-11  # a few units of f16 rounding


def test_bfloat16_as_uint16(rng):
    q, k, v = (f32_to_bf16_bits(rand(rng, (1, 65, 2, 32))) for _ in range(3))
    out = attend.attention(q, k, v, dtype="bfloat16", window=(8, 8))
    assert out.dtype == np.uint16
    want, _ = attention64(*(bf16_bits_to_f32(x) for x in (q, k, v)), window=(8, 8))
    assert rel_l2(bf16_bits_to_f32(out), want) <= 4 * 2.0**-8
    with pytest.raises(ValueError, match="dtype='bfloat16'"):
        attend.attention(q, k, v)


def test_threads_argument_and_global_setting(rng):
    q, k, v = rand(rng, (1, 130, 4, 16)), rand(rng, (1, 130, 4, 16)), rand(rng, (1, 130, 4, 16))
    one = attend.attention(q, k, v, causal=True, threads=1)
    two = attend.attention(q, k, v, causal=True, threads=2)
    np.testing.assert_array_equal(one, two)
    before = attend.num_threads()
    try:
        attend.set_num_threads(1)
        assert attend.num_threads() == 1
        np.testing.assert_array_equal(attend.attention(q, k, v, causal=True), one)
    finally:
        attend.set_num_threads(before)


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_every_simd_path(rng, isa):
    order = ["scalar", "avx2", "avx512"]
    if order.index(isa) > order.index(attend.isa_info()["detected"]):
        pytest.skip(f"CPU has no {isa}")
    q, k, v = rand(rng, (1, 65, 2, 64)), rand(rng, (1, 65, 2, 64)), rand(rng, (1, 65, 2, 64))
    try:
        attend.set_isa(isa)
        assert attend.isa_info()["active"] == isa
        out = attend.attention(q, k, v, causal=True)
    finally:
        attend.set_isa(None)
    want, _ = attention64(q, k, v, causal=True)
    assert rel_l2(out, want) <= F32_TOL


def test_torch_cpu_tensors_are_accepted(rng):
    torch = pytest.importorskip("torch")
    q = rand(rng, (1, 5, 2, 8))
    out = attend.attention(torch.from_numpy(q), torch.from_numpy(q), torch.from_numpy(q))
    want, _ = attention64(q, q, q)
    assert rel_l2(out, want) <= F32_TOL
