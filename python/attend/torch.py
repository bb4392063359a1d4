"""attend.torch: torch's scaled_dot_product_attention on attend's CPU kernels.

    import torch, attend.torch
    out = attend.torch.scaled_dot_product_attention(q, k, v, is_causal=True)   # q: [B, H, L, E]

Same names, positional order and semantics as torch.nn.functional.scaled_dot_product_attention
(torch >= 2.1, math path): [..., H, L, E] layout (any number of batch dimensions, broadcast as
torch's matmul does), is_causal = torch.ones(L, S).tril() (TOP-LEFT aligned), boolean masks
(True = attend) and additive float masks broadcastable to [..., H, L, S], GQA only with
enable_gqa=True, scale defaulting to 1/sqrt(E). float32, float16 and bfloat16 CPU tensors are read
and written in place through DLPack (zero copy); the result is differentiable (a
torch.autograd.Function whose backward is attend's backward kernel).

Deliberate differences from torch, documented rather than hidden:
  - A row whose keys are all masked (a bool mask row of False, or -inf everywhere) gives
    torch's math path NaN (softmax of all -inf; torch 1.13 and 2.x alike) and attend 0, with zero
    gradients. NaN would spread through the backward into every dk/dv row of that head.
  - dropout_p > 0 drops attention weights with the same distribution as torch (keep with
    probability 1 - p, scale by 1/(1 - p)), but from attend's counter-based generator: the seed is
    drawn from torch's default generator (so torch.manual_seed makes a run reproducible), yet the
    mask differs from the one torch would draw.
  - Errors are ValueError with attend's message (torch raises RuntimeError).
"""
import math

import torch

from . import _autograd
from ._strict import strict

__all__ = ["scaled_dot_product_attention"]


def _check_bool(name, x):
    if not isinstance(x, bool):
        raise TypeError(f"attend.torch.scaled_dot_product_attention: {name} must be a bool, got {type(x).__name__}")
    return x


def _broadcast(fn, shapes, what):
    try:
        return tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        raise ValueError(f"{fn}: the batch dimensions of {what} do not broadcast: "
                         + ", ".join(str(tuple(s)) for s in shapes)) from None


@strict("attend.torch.scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *, scale=None,
                                 enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention, exactly, on attend's kernels.

    query: [..., Hq, L, E], key: [..., Hkv, S, E], value: [..., Hkv, S, Ev] -> [..., Hq, L, Ev]
    attn_mask: bool (True = take part) or float (added), broadcastable to [..., Hq, L, S]
    is_causal: query i sees keys j <= i (top-left, torch's tril); not together with attn_mask
    scale: default 1/sqrt(E).  enable_gqa: Hq % Hkv == 0, query head h reads KV head h // (Hq/Hkv)
    dropout_p: see the module docstring (same distribution, attend's generator).
    A fully masked row gives 0 here and NaN in torch (module docstring).
    """
    fn = "attend.torch.scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{fn}: {name} must be a torch.Tensor, got {type(t).__name__} (for numpy arrays use "
                            "attend.attention)")
        if t.dim() < 2:
            raise ValueError(f"{fn}: {name} must have at least 2 dimensions ([..., L, E]), got {t.dim()}")
    if not (query.dtype == key.dtype == value.dtype):
        raise ValueError(f"{fn}: query, key and value must have the same dtype, got {query.dtype}, {key.dtype}, "
                         f"{value.dtype}")
    _check_bool("is_causal", is_causal)
    _check_bool("enable_gqa", enable_gqa)
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: attn_mask must be None when is_causal=True (as in torch)")
    L, E = query.shape[-2], query.shape[-1]
    S, Ev = key.shape[-2], value.shape[-1]
    if key.shape[-1] != E:
        raise ValueError(f"{fn}: key's last dimension {key.shape[-1]} differs from query's {E}")
    if value.shape[-2] != S:
        raise ValueError(f"{fn}: value has {value.shape[-2]} positions but key has {S}")
    mask = attn_mask
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"{fn}: attn_mask must be a torch.Tensor or None, got {type(mask).__name__}")
        if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
            raise ValueError(f"{fn}: attn_mask must be bool or floating point, got {mask.dtype}")
        if mask.dim() < 2:
            mask = mask.reshape((1,) * (2 - mask.dim()) + tuple(mask.shape))
        try:
            torch.broadcast_shapes(tuple(mask.shape[-2:]), (L, S))
        except RuntimeError:
            raise ValueError(f"{fn}: attn_mask's last two dimensions {tuple(mask.shape[-2:])} do not broadcast to "
                             f"(L, S) = ({L}, {S})") from None

    # [..., H, L, E] -> [B, H, L, E] (attend's layout 'bhsd'); reshape and expand are differentiable,
    # so gradients of broadcast dimensions are summed by autograd.
    mask_batch = [tuple(mask.shape[:-2])] if mask is not None else []
    if enable_gqa:
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.dim() < 3:
                raise ValueError(f"{fn}: enable_gqa=True needs a head dimension ([..., H, L, E]); {name} has "
                                 f"{t.dim()} dimensions")
        hq, hkv = query.shape[-3], key.shape[-3]
        if value.shape[-3] != hkv:
            raise ValueError(f"{fn}: key has {hkv} heads but value has {value.shape[-3]}")
        if hkv == 0 or hq % hkv != 0:
            raise ValueError(f"{fn}: enable_gqa=True needs query heads ({hq}) divisible by key/value heads ({hkv})")
        outer = _broadcast(fn, [query.shape[:-3], key.shape[:-3], value.shape[:-3]]
                           + [m[:-1] for m in mask_batch if len(m) >= 1], "query, key, value and attn_mask")
        full = None
    else:
        full = _broadcast(fn, [query.shape[:-2], key.shape[:-2], value.shape[:-2]] + mask_batch,
                          "query, key, value and attn_mask (for grouped-query attention pass enable_gqa=True)")
        outer, hq = (full[:-1], full[-1]) if full else ((), 1)
        hkv = hq
    batch_shape = (*outer, hq) if (enable_gqa or full) else ()  # torch's output: [*batch_shape, L, Ev]
    B = math.prod(outer)

    def to4(t, heads, n, d):
        t = t.expand(*outer, heads, n, d) if t.dim() >= 3 or outer or heads != 1 else t
        t = t.reshape(B, heads, n, d)
        if any(st == 0 and sz > 1 for st, sz in zip(t.stride(), t.shape)):
            t = t.contiguous()  # the kernels take no broadcast (stride 0) q/k/v dimension
        return t
    q4 = to4(query, hq, L, E)
    k4 = to4(key, hkv, S, E)
    v4 = to4(value, hkv, S, Ev)

    bias = None
    if mask is not None:
        bias = mask
        if bias.dtype == torch.bool:
            bias = torch.zeros(bias.shape, dtype=torch.float32).masked_fill_(bias.logical_not(), float("-inf"))
        elif bias.dtype != torch.float32:
            bias = bias.to(torch.float32)  # exact for float16/bfloat16 masks; differentiable
        if bias.dim() > 4 or (bias.dim() > 2 and len(outer) > 1):
            bias = bias.expand(*outer, hq, L, S).reshape(B, hq, L, S)

    window = (-1, -1)
    causal = False
    if is_causal:
        if L <= S:   # keys after position L - 1 are hidden from every query: square causal on the first L
            k4, v4 = k4[:, :, :L], v4[:, :, :L]
            causal = True
        else:        # bottom-right window shifted by L - S is torch's top-left tril
            window = (-1, L - S)
    dropout_p = float(dropout_p)
    seed = int(torch.randint(0, 2**62, (1,)).item()) if dropout_p > 0 else 0
    opts = dict(causal=causal, window=window, logit_scale=scale, softcap=0.0, alibi=None, dropout_p=dropout_p,
                seed=seed, layout="bhsd", dtype=None, cu_seqlens_q=None, cu_seqlens_k=None, seqlens_k=None,
                threads=None)
    out4 = _autograd.forward(q4, k4, v4, bias, opts)
    return out4.reshape(*batch_shape, L, Ev)
