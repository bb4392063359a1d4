"""attend.torch.scaled_dot_product_attention against torch's semantics.

torch 1.13 (Debian's) has no public scaled_dot_product_attention; the reference here is the math
torch >= 2.1 documents for it, written out in float64 torch with autograd:
    softmax(query @ key^T * scale + bias) @ value,
bias = -inf above the diagonal of ones(L, S).tril() for is_causal (top-left), -inf where a bool
mask is False, the float mask itself otherwise; enable_gqa repeats K/V heads (repeat_interleave).
torch 1.13's private F._scaled_dot_product_attention (bool masks only) is compared where it
applies, and shows the documented difference on fully masked rows (NaN there, 0 here).
"""
import math

import pytest

torch = pytest.importorskip("torch")
import attend.torch  # noqa: E402

sdpa = attend.torch.scaled_dot_product_attention
F = torch.nn.functional

TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}      # out, relative L2
GRAD_TOL = {torch.float32: 1e-4, torch.float16: 5e-3, torch.bfloat16: 4e-2}   # gradients


def reference(q, k, v, attn_mask=None, is_causal=False, scale=None, enable_gqa=False):
    """torch's documented sdpa math, in the inputs' dtype (call with float64 leaves)."""
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril().logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = attn_mask.to(q.dtype) + bias
    if enable_gqa:
        k = k.repeat_interleave(q.size(-3) // k.size(-3), -3)
        v = v.repeat_interleave(q.size(-3) // v.size(-3), -3)
    w = torch.softmax(q @ k.transpose(-2, -1) * scale + bias, dim=-1)
    return w @ v


def rel(a, b):
    """Relative L2 error; an all-zero reference (a query that sees one key has dq = 0) is
    compared at the scale of unit entries instead."""
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).norm() / max(b.norm().item(), 1e-3 * b.numel() ** 0.5)).item()


def leaves(shapes, dtype, gen):
    """Random tensors of `dtype` that require grad, and float64 leaves holding the same values."""
    xs = [torch.randn(s, generator=gen).to(dtype).requires_grad_() for s in shapes]
    return xs, [x.detach().double().requires_grad_() for x in xs]


def check(shapes, dtype, mask=None, grads=True, **kw):
    gen = torch.Generator().manual_seed(sum(map(sum, shapes)) + 7)
    (q, k, v), (q64, k64, v64) = leaves(shapes, dtype, gen)
    m64 = mask.double() if mask is not None and mask.dtype.is_floating_point else mask
    out = sdpa(q, k, v, mask, **kw)
    want = reference(q64, k64, v64, m64, **kw)
    assert out.dtype == dtype and out.shape == want.shape
    assert rel(out, want) <= TOL[dtype], (rel(out, want), dtype, shapes, kw)
    if grads:
        g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
        out.backward(g.to(dtype))
        want.backward(g)
        for x, x64 in ((q, q64), (k, k64), (v, v64)):
            assert rel(x.grad, x64.grad) <= GRAD_TOL[dtype], (rel(x.grad, x64.grad), dtype, shapes, kw)
    return out


SHAPES = [  # B, H, L, S, E, Ev: L != S both ways, L = 1, odd sizes 1, 7, 65
    (2, 3, 7, 7, 16, 16),
    (1, 2, 1, 65, 7, 5),
    (2, 1, 65, 7, 8, 8),
    (1, 4, 65, 65, 64, 32),
    (3, 1, 1, 1, 1, 1),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_no_mask_and_top_left_causal(shape, dtype, causal):
    B, H, L, S, E, Ev = shape
    check([(B, H, L, E), (B, H, S, E), (B, H, S, Ev)], dtype, is_causal=causal)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(2, 3, 7, 9, 16, 8), (1, 2, 65, 65, 7, 7), (2, 2, 1, 7, 8, 8)])
@pytest.mark.parametrize("kind", ["bool", "float", "bool-LS", "float-B11S", "float-1HLS", "float-f16"])
def test_masks_bool_additive_and_broadcast(shape, dtype, kind):
    B, H, L, S, E, Ev = shape
    gen = torch.Generator().manual_seed(3)
    if kind == "bool":
        mask = torch.rand(B, H, L, S, generator=gen) < 0.7
        mask[..., 0] = True  # no fully masked row (torch gives NaN there; see below)
    elif kind == "bool-LS":
        mask = torch.rand(L, S, generator=gen) < 0.6
        mask[:, -1] = True
    elif kind == "float":
        mask = torch.randn(B, H, L, S, generator=gen)
    elif kind == "float-B11S":
        mask = torch.randn(B, 1, 1, S, generator=gen)
        mask[..., 1 % S] = float("-inf") if S > 1 else 0.0
    elif kind == "float-1HLS":
        mask = torch.randn(1, H, L, S, generator=gen)
    else:  # a float mask in float16 is exact in float32
        mask = torch.randn(B, H, L, S, generator=gen).half()
    check([(B, H, L, E), (B, H, S, E), (B, H, S, Ev)], dtype, mask=mask)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("causal", [False, True])
def test_gqa_only_with_enable_gqa(dtype, causal):
    shapes = [(2, 6, 9, 16), (2, 2, 13, 16), (2, 2, 13, 8)]
    check(shapes, dtype, is_causal=causal, enable_gqa=True)
    q, k, v = (torch.randn(s) for s in shapes)
    with pytest.raises(ValueError, match="enable_gqa=True"):
        sdpa(q, k, v)  # heads 6 vs 2 do not broadcast: torch's math path refuses this too
    with pytest.raises(ValueError, match="divisible"):
        sdpa(q, torch.randn(2, 4, 13, 16), torch.randn(2, 4, 13, 8), enable_gqa=True)


def test_gqa_with_a_mask_and_scale():
    mask = torch.randn(2, 6, 9, 13)
    check([(2, 6, 9, 16), (2, 3, 13, 16), (2, 3, 13, 16)], torch.float32, mask=mask, enable_gqa=True, scale=0.3)


@pytest.mark.parametrize("shapes", [
    [(7, 16), (9, 16), (9, 5)],                            # unbatched [L, E]
    [(3, 7, 16), (3, 9, 16), (3, 9, 16)],                  # [N, L, E]
    [(2, 3, 2, 7, 8), (2, 3, 2, 9, 8), (2, 3, 2, 9, 8)],   # extra batch dimension
    [(2, 3, 7, 8), (1, 3, 9, 8), (1, 1, 9, 8)],            # broadcast batch and heads
    [(7, 8), (4, 9, 8), (4, 9, 8)],                        # query broadcast over key's batch
])
@pytest.mark.parametrize("causal", [False, True])
def test_torch_shapes_and_broadcasting(shapes, causal):
    check(shapes, torch.float32, is_causal=causal)


def test_mask_with_extra_batch_dims_broadcasts_like_torch():
    mask = torch.randn(5, 1, 7, 9)  # adds a batch dimension to [N, L, E] inputs
    check([(3, 7, 16), (3, 9, 16), (3, 9, 16)], torch.float32, mask=mask)
    bool_mask = torch.rand(3, 1, 7, 9, generator=torch.Generator().manual_seed(4)) < 0.8
    bool_mask[..., 0] = True
    check([(2, 3, 2, 7, 8), (2, 3, 2, 9, 8), (2, 3, 2, 9, 8)], torch.float32, mask=bool_mask)


def test_float_mask_gradient_matches_autograd():
    gen = torch.Generator().manual_seed(5)
    (q, k, v, m), (q64, k64, v64, m64) = leaves([(2, 3, 7, 8), (2, 3, 9, 8), (2, 3, 9, 8), (1, 3, 7, 9)],
                                                torch.float32, gen)
    out = sdpa(q, k, v, m)
    want = reference(q64, k64, v64, m64)
    g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    out.backward(g.float())
    want.backward(g)
    assert rel(m.grad, m64.grad) <= 1e-4 and m.grad.shape == m.shape


def test_matches_torch_1_13_private_sdpa_where_it_applies():
    private = getattr(F, "_scaled_dot_product_attention", None)
    if private is None:
        pytest.skip("this torch has no F._scaled_dot_product_attention")
    gen = torch.Generator().manual_seed(11)
    q, k, v = (torch.randn(2, 3, n, 16, generator=gen) for n in (7, 9, 9))
    mask = torch.rand(7, 9, generator=gen) < 0.7
    mask[:, 0] = True
    for m in (None, mask):
        want, _ = private(q, k, v, m, 0.0, False, False)
        assert rel(sdpa(q, k, v, m), want) <= 1e-5
    q2, k2, v2 = (torch.randn(2, 3, 9, 16, generator=gen) for _ in range(3))
    want, _ = private(q2, k2, v2, None, 0.0, False, True)
    assert rel(sdpa(q2, k2, v2, is_causal=True), want) <= 1e-5


def test_fully_masked_rows_are_zero_here_and_nan_in_torch():
    gen = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 2, 5, 8, generator=gen, requires_grad=True) for _ in range(3))
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[2] = False  # query 2 sees no key
    out = sdpa(q, k, v, mask)
    assert torch.all(out[:, :, 2] == 0) and torch.all(torch.isfinite(out))
    assert torch.isnan(reference(*(x.detach().double() for x in (q, k, v)), mask)[:, :, 2]).all()
    private = getattr(F, "_scaled_dot_product_attention", None)
    if private is not None:
        assert torch.isnan(private(q.detach(), k.detach(), v.detach(), mask, 0.0, False, False)[0][:, :, 2]).all()
    out.sum().backward()
    assert all(torch.isfinite(x.grad).all() for x in (q, k, v))
    assert torch.all(q.grad[:, :, 2] == 0)


def test_dropout_has_torch_distribution_and_a_consistent_backward():
    """With value = identity the output is the dropped, rescaled weight matrix itself, which
    exposes the keep mask; the same seed then reproduces it for real values and the gradients."""
    p, S = 0.3, 40
    gen = torch.Generator().manual_seed(9)
    q, k = torch.randn(2, 3, 33, 8, generator=gen), torch.randn(2, 3, S, 8, generator=gen)
    eye = torch.eye(S).expand(2, 3, S, S)
    torch.manual_seed(1234)
    dropped = sdpa(q, k, eye, dropout_p=p)
    keep = dropped != 0
    assert abs(1 - keep.double().mean().item() - p) < 0.03
    w = torch.softmax(q.double() @ k.double().transpose(-2, -1) / math.sqrt(8), -1)
    assert rel(dropped, torch.where(keep, w / (1 - p), torch.zeros_like(w))) <= 1e-5

    v = torch.randn(2, 3, S, 8, generator=gen)
    (qq, kk, vv), (q64, k64, v64) = ([x.clone().requires_grad_() for x in (q, k, v)],
                                     [x.double().requires_grad_() for x in (q, k, v)])
    torch.manual_seed(1234)
    out = sdpa(qq, kk, vv, dropout_p=p)
    w64 = torch.softmax(q64 @ k64.transpose(-2, -1) / math.sqrt(8), -1)
    want = torch.where(keep, w64 / (1 - p), torch.zeros_like(w64)) @ v64
    assert rel(out, want) <= 1e-5
    g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    out.backward(g.float())
    want.backward(g)
    for x, x64 in ((qq, q64), (kk, k64), (vv, v64)):
        assert rel(x.grad, x64.grad) <= 1e-4
    torch.manual_seed(99)
    assert rel(sdpa(q, k, eye, dropout_p=p), dropped) > 0.1  # another seed, another mask


def test_zero_copy_output_and_no_grad_path():
    q, k, v = (torch.randn(1, 2, 6, 8) for _ in range(3))
    with torch.no_grad():
        out = sdpa(q, k, v)
    assert out.grad_fn is None and out.is_contiguous()
    want = reference(q.double(), k.double(), v.double())
    assert rel(out, want) <= 1e-5


def test_torch_argument_errors():
    q = torch.randn(1, 2, 5, 8)
    with pytest.raises(ValueError, match="attn_mask must be None when is_causal=True"):
        sdpa(q, q, q, torch.ones(5, 5, dtype=torch.bool), is_causal=True)
    with pytest.raises(ValueError, match="same dtype"):
        sdpa(q, q.half(), q)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        sdpa(q.numpy(), q, q)
    with pytest.raises(TypeError, match="is_causal must be a bool"):
        sdpa(q, q, q, None, 0.0, "yes")
    with pytest.raises(TypeError, match="positional arguments"):
        sdpa(q, q, q, None, 0.0, False, 0.1)  # scale is keyword-only, as in torch
    with pytest.raises(TypeError, match="unexpected keyword 'causal'"):
        sdpa(q, q, q, causal=True)
    with pytest.raises(ValueError, match="dropout_p must be in"):
        sdpa(q, q, q, dropout_p=1.5)
    with pytest.raises(ValueError, match="do not broadcast to"):
        sdpa(q, q, q, torch.zeros(4, 5))
