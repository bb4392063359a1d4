"""flash-attn 2's interface on attend's CPU kernels: attend.flash_attn_func,
attend.flash_attn_varlen_func and attend.flash_attn_with_kvcache.

Same names, positional order, layout ([B, N, H, D]; varlen [total, H, D]) and semantics as
flash_attn.flash_attn_interface (2.6+): causal and window_size are aligned to the bottom-right
corner, a row with no visible key gives 0, GQA/MQA when K/V have fewer heads, alibi_slopes of
shape (nheads,) or (batch, nheads) add -slope * |i + Nk - Nq - j|, softcap > 0 caps the logits.
Inputs may be torch tensors (CPU; float16, bfloat16 and also float32) -- differentiable, as
flash-attn's -- or numpy arrays (numpy out). Where flash-attn would silently misbehave (a cache
too small for the new tokens, max_seqlen smaller than a sequence) attend raises ValueError.

Differences, documented: softmax_lse of a row with no visible key is +inf, as flash-attn's
kernels write it; dropout_p > 0 drops weights with flash-attn's distribution but attend's
generator (seeded from torch's or numpy's global generator), and return_attn_probs=True is refused
with dropout (attend does not materialise the dropout pattern S_dmask; without dropout S_dmask is
empty, as flash-attn returns it); rotary_cos/rotary_sin are refused (rotate q and k before the
call); num_splits is accepted and has no effect (a GPU scheduling knob).
"""
from . import _dispatch
from ._strict import strict

__all__ = ["flash_attn_func", "flash_attn_varlen_func", "flash_attn_with_kvcache"]


def _np():
    import numpy
    return numpy


def _torch(x):
    return _dispatch.torch_or_none() if _dispatch.is_tensor(x) else None


def _values(fn, name, x):
    """A 1-D or 2-D int/float container as nested Python lists."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{fn}: {name} must be an array, a tensor or a list, got {type(x).__name__}")


def _ints(fn, name, x, lo, hi):
    vals = _values(fn, name, x)
    for i, v in enumerate(vals):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{fn}: {name}[{i}] must be an integer, got {v!r}")
        if not lo <= v <= hi:
            raise ValueError(f"{fn}: {name}[{i}] = {v} is outside [{lo}, {hi}]")
    return vals


def _int(fn, name, x, lo, hi):
    if isinstance(x, bool) or not hasattr(x, "__index__"):
        raise ValueError(f"{fn}: {name} must be an integer, got {x!r}")
    v = x.__index__()
    if not lo <= v <= hi:
        raise ValueError(f"{fn}: {name} = {v} is outside [{lo}, {hi}]")
    return v


def _bool(fn, name, x):
    if not isinstance(x, bool) and type(x).__name__ not in ("bool_",):
        raise TypeError(f"{fn}: {name} must be a bool, got {type(x).__name__}")
    return bool(x)


def _cat(parts, axis, like):
    torch = _torch(like)
    return torch.cat(parts, dim=axis) if torch is not None else _np().concatenate(parts, axis=axis)


def _flash_lse(lse):
    """attend writes -inf for a row with no visible key, flash-attn's kernels +inf."""
    torch = _torch(lse)
    if torch is not None:
        return lse.masked_fill(lse == float("-inf"), float("inf"))
    np = _np()
    return np.where(np.isneginf(lse), np.float32(np.inf), lse).astype(np.float32)


def _empty_like(q):
    torch = _torch(q)
    if torch is not None:
        return torch.empty((0,), dtype=q.dtype, device=q.device)
    return _np().empty((0,), dtype=q.dtype)


def _seed(q, dropout_p):
    if dropout_p <= 0:
        return 0
    torch = _torch(q)
    if torch is not None:
        return int(torch.randint(0, 2**62, (1,)).item())
    return int(_np().random.randint(0, 2**62, dtype="int64"))


def _slopes(fn, alibi_slopes, batch):
    """(one slope list for every sequence, or None) and (per-sequence lists, or None)."""
    if alibi_slopes is None:
        return None, None
    rows = _values(fn, "alibi_slopes", alibi_slopes)
    if rows and isinstance(rows[0], list):
        if len(rows) != batch:
            raise ValueError(f"{fn}: alibi_slopes has {len(rows)} rows but the batch has {batch} sequences")
        if all(r == rows[0] for r in rows):
            return rows[0], None
        return None, rows
    return rows, None


def _options(causal, window_size, softmax_scale, softcap, alibi, dropout_p, seed, **extra):
    opts = dict(causal=causal, window=window_size, logit_scale=softmax_scale, softcap=softcap, alibi=alibi,
                dropout_p=dropout_p, seed=seed, layout="bshd", dtype=None, cu_seqlens_q=None, cu_seqlens_k=None,
                seqlens_k=None, threads=None)
    opts.update(extra)
    return opts


@strict("attend.flash_attn_func")
def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False, window_size=(-1, -1), softcap=0.0,
                    alibi_slopes=None, deterministic=False, return_attn_probs=False):
    """flash_attn.flash_attn_func on attend's kernels.

    q: (batch, seqlen_q, nheads, headdim), k, v: (batch, seqlen_k, nheads_k, headdim) -> out like q.
    causal / window_size: bottom-right aligned; query i sees keys j with
      i + seqlen_k - seqlen_q - window_size[0] <= j <= i + seqlen_k - seqlen_q + window_size[1].
    softmax_scale: default 1/sqrt(headdim).  softcap: > 0 caps the logits.
    alibi_slopes: (nheads,) or (batch, nheads).  deterministic: the backward is bitwise repeatable.
    return_attn_probs=True returns (out, softmax_lse (batch, nheads, seqlen_q), S_dmask (empty)).
    torch tensors in: differentiable torch out; numpy arrays in: numpy out. See attend.flash.
    """
    fn = "attend.flash_attn_func"
    deterministic = _bool(fn, "deterministic", deterministic)
    return_attn_probs = _bool(fn, "return_attn_probs", return_attn_probs)
    if return_attn_probs and dropout_p > 0:
        raise ValueError(f"{fn}: return_attn_probs=True with dropout_p > 0 is not supported (attend does not "
                         "materialise the dropout pattern)")
    one, per_batch = _slopes(fn, alibi_slopes, q.shape[0])
    seed = _seed(q, dropout_p)
    if per_batch is not None:  # a slope row per sequence: one call per sequence
        parts = [flash_attn_func(q[b:b + 1], k[b:b + 1], v[b:b + 1], dropout_p, softmax_scale, causal, window_size,
                                 softcap, per_batch[b], deterministic, True) for b in range(q.shape[0])]
        out = _cat([p[0] for p in parts], 0, q)
        return (out, _cat([p[1] for p in parts], 0, q), _empty_like(q)) if return_attn_probs else out
    opts = _options(causal, window_size, softmax_scale, softcap, one, dropout_p, seed)
    res = _dispatch.forward(q, k, v, opts, return_lse=return_attn_probs, deterministic=deterministic)
    if not return_attn_probs:
        return res
    return res[0], _flash_lse(res[1]), _empty_like(q)


def _gather_pages(x, block_table_rows, lengths, like):
    """Paged cache [num_blocks, page, H, D] -> packed [sum(lengths), H, D] (a copy)."""
    page = x.shape[1]
    parts = []
    for rows, n in zip(block_table_rows, lengths):
        need = -(-n // page)
        blocks = x[rows[:need]]
        parts.append(blocks.reshape((need * page,) + tuple(x.shape[2:]))[:n])
    return _cat(parts, 0, like)


@strict("attend.flash_attn_varlen_func")
def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_p=0.0,
                           softmax_scale=None, causal=False, window_size=(-1, -1), softcap=0.0, alibi_slopes=None,
                           deterministic=False, return_attn_probs=False, block_table=None):
    """flash_attn.flash_attn_varlen_func on attend's kernels.

    q: (total_q, nheads, headdim), k, v: (total_k, nheads_k, headdim) -- or, with block_table,
    (num_blocks, page_block_size, nheads_k, headdim) -- packed sequences; cu_seqlens_q/k:
    (batch + 1,) int32 offsets. max_seqlen_q/k must be at least the longest sequence. Each
    sequence is attended separately, causal/window bottom-right aligned within it.
    return_attn_probs=True returns (out, softmax_lse (nheads, total_q), S_dmask (empty)).
    """
    fn = "attend.flash_attn_varlen_func"
    deterministic = _bool(fn, "deterministic", deterministic)
    return_attn_probs = _bool(fn, "return_attn_probs", return_attn_probs)
    if return_attn_probs and dropout_p > 0:
        raise ValueError(f"{fn}: return_attn_probs=True with dropout_p > 0 is not supported (attend does not "
                         "materialise the dropout pattern)")
    cu_q = _ints(fn, "cu_seqlens_q", cu_seqlens_q, 0, 2**31 - 1)
    cu_k = _ints(fn, "cu_seqlens_k", cu_seqlens_k, 0, 2**31 - 1)
    if len(cu_q) < 2 or len(cu_q) != len(cu_k):
        raise ValueError(f"{fn}: cu_seqlens_q and cu_seqlens_k must both have batch + 1 >= 2 entries, got "
                         f"{len(cu_q)} and {len(cu_k)}")
    len_q = [b - a for a, b in zip(cu_q, cu_q[1:])]
    len_k = [b - a for a, b in zip(cu_k, cu_k[1:])]
    for name, lens, cap in (("q", len_q, max_seqlen_q), ("k", len_k, max_seqlen_k)):
        cap = _int(fn, f"max_seqlen_{name}", cap, 0, 2**31 - 1)
        if lens and max(lens) > cap:
            raise ValueError(f"{fn}: max_seqlen_{name} = {cap} is smaller than the longest sequence ({max(lens)})")
    if block_table is not None:  # paged K/V: gather each sequence's pages into a packed copy
        rows = _values(fn, "block_table", block_table)
        if len(rows) != len(len_k):
            raise ValueError(f"{fn}: block_table has {len(rows)} rows but there are {len(len_k)} sequences")
        k, v = _gather_pages(k, rows, len_k, q), _gather_pages(v, rows, len_k, q)
        cu_seqlens_k = [0]
        for n in len_k:
            cu_seqlens_k.append(cu_seqlens_k[-1] + n)
    one, per_batch = _slopes(fn, alibi_slopes, len(len_q))
    seed = _seed(q, dropout_p)
    if per_batch is not None:
        parts = []
        for b in range(len(len_q)):
            qs, ks = slice(cu_q[b], cu_q[b + 1]), slice(cu_k[b], cu_k[b + 1])
            parts.append(flash_attn_varlen_func(q[qs], k[ks], v[ks], [0, len_q[b]], [0, len_k[b]], len_q[b], len_k[b],
                                                dropout_p, softmax_scale, causal, window_size, softcap, per_batch[b],
                                                deterministic, True))
        out = _cat([p[0] for p in parts], 0, q)
        return (out, _cat([p[1] for p in parts], 1, q), _empty_like(q)) if return_attn_probs else out
    opts = _options(causal, window_size, softmax_scale, softcap, one, dropout_p, seed, cu_seqlens_q=cu_seqlens_q,
                    cu_seqlens_k=cu_seqlens_k)
    res = _dispatch.forward(q, k, v, opts, return_lse=return_attn_probs, deterministic=deterministic)
    if not return_attn_probs:
        return res
    return res[0], _flash_lse(res[1][0]), _empty_like(q)  # lse [1, H, total] -> [H, total]


@strict("attend.flash_attn_with_kvcache")
def flash_attn_with_kvcache(q, k_cache, v_cache, k=None, v=None, rotary_cos=None, rotary_sin=None,
                            cache_seqlens=None, cache_batch_idx=None, cache_leftpad=None, block_table=None,
                            softmax_scale=None, causal=False, window_size=(-1, -1), softcap=0.0,
                            rotary_interleaved=True, alibi_slopes=None, num_splits=0, return_softmax_lse=False):
    """flash_attn.flash_attn_with_kvcache on attend's kernels (inference: no gradient).

    q: (batch, seqlen_q, nheads, headdim); k_cache, v_cache: (batch_cache, seqlen_cache, nheads_k,
    headdim), or (num_blocks, page_block_size, nheads_k, headdim) with block_table (batch,
    max_blocks). k, v (batch, seqlen_new, nheads_k, headdim), when given, are written into the
    caches IN PLACE at positions cache_seqlens[b] ... (ValueError when they do not fit). Sequence b
    then attends to cache positions [cache_leftpad[b], cache_seqlens[b] + seqlen_new) of cache row
    cache_batch_idx[b], causal/window aligned to the bottom-right of those keys. cache_seqlens:
    int or (batch,) (None: the whole cache). Returns out, and softmax_lse (batch, nheads,
    seqlen_q) with return_softmax_lse=True.
    """
    fn = "attend.flash_attn_with_kvcache"
    if rotary_cos is not None or rotary_sin is not None:
        raise ValueError(f"{fn}: rotary_cos/rotary_sin are not supported; apply the rotary embedding to q and k "
                         "before the call")
    _bool(fn, "rotary_interleaved", rotary_interleaved)
    _int(fn, "num_splits", num_splits, 0, 2**31 - 1)
    return_softmax_lse = _bool(fn, "return_softmax_lse", return_softmax_lse)
    if (k is None) != (v is None):
        raise ValueError(f"{fn}: k and v must be given together")
    torch = _torch(q)
    if torch is not None:
        with torch.no_grad():
            return _kvcache(fn, q, k_cache, v_cache, k, v, cache_seqlens, cache_batch_idx, cache_leftpad, block_table,
                            softmax_scale, causal, window_size, softcap, alibi_slopes, return_softmax_lse)
    return _kvcache(fn, q, k_cache, v_cache, k, v, cache_seqlens, cache_batch_idx, cache_leftpad, block_table,
                    softmax_scale, causal, window_size, softcap, alibi_slopes, return_softmax_lse)


def _kvcache(fn, q, k_cache, v_cache, k, v, cache_seqlens, cache_batch_idx, cache_leftpad, block_table,
             softmax_scale, causal, window_size, softcap, alibi_slopes, return_lse):
    for name, x in (("q", q), ("k_cache", k_cache), ("v_cache", v_cache), ("k", k), ("v", v)):
        if x is not None and len(x.shape) != 4:
            raise ValueError(f"{fn}: {name} must have 4 dimensions, got shape {tuple(x.shape)}")
    batch = q.shape[0]
    new = 0 if k is None else k.shape[1]
    if k is not None and (k.shape[0] != batch or v.shape[0] != batch or v.shape[1] != new):
        raise ValueError(f"{fn}: k {tuple(k.shape)} and v {tuple(v.shape)} must be (batch={batch}, seqlen_new, "
                         "nheads_k, headdim)")
    paged = block_table is not None
    if paged:
        if cache_batch_idx is not None:
            raise ValueError(f"{fn}: cache_batch_idx cannot be combined with block_table")
        rows = _ints_2d(fn, "block_table", block_table, k_cache.shape[0])
        if len(rows) != batch:
            raise ValueError(f"{fn}: block_table has {len(rows)} rows for a batch of {batch}")
        page = k_cache.shape[1]
        capacity = len(rows[0]) * page if rows else 0
        index = list(range(batch))
    else:
        capacity = k_cache.shape[1]
        index = (list(range(batch)) if cache_batch_idx is None
                 else _ints(fn, "cache_batch_idx", cache_batch_idx, 0, k_cache.shape[0] - 1))
        if len(index) != batch:
            raise ValueError(f"{fn}: cache_batch_idx has {len(index)} entries for a batch of {batch}")
        if cache_batch_idx is None and k_cache.shape[0] < batch:
            raise ValueError(f"{fn}: k_cache holds {k_cache.shape[0]} sequences, fewer than the batch ({batch})")
    seqlens = cache_seqlens if isinstance(cache_seqlens, (int, type(None))) else _values(fn, "cache_seqlens",
                                                                                          cache_seqlens)
    if seqlens is None:
        lengths = [capacity] * batch
    elif not isinstance(seqlens, list):  # an int, or a 0-d array/tensor: the same length for every sequence
        lengths = [_int(fn, "cache_seqlens", seqlens, 0, capacity)] * batch
    else:
        lengths = _ints(fn, "cache_seqlens", seqlens, 0, capacity)
        if len(lengths) != batch:
            raise ValueError(f"{fn}: cache_seqlens has {len(lengths)} entries for a batch of {batch}")
    starts = [0] * batch if cache_leftpad is None else _ints(fn, "cache_leftpad", cache_leftpad, 0, capacity)
    for b in range(batch):
        if lengths[b] + new > capacity:
            raise ValueError(f"{fn}: sequence {b} holds {lengths[b]} tokens; {new} more do not fit the cache's "
                             f"{capacity} positions")
        if starts[b] > lengths[b]:
            raise ValueError(f"{fn}: cache_leftpad[{b}] = {starts[b]} is beyond cache_seqlens[{b}] = {lengths[b]}")
    if k is not None:  # append the new tokens in place (flash-attn's semantics)
        for b in range(batch):
            if paged:
                for t in range(new):
                    p = lengths[b] + t
                    k_cache[rows[b][p // page], p % page] = k[b, t]
                    v_cache[rows[b][p // page], p % page] = v[b, t]
            else:
                k_cache[index[b], lengths[b]:lengths[b] + new] = k[b]
                v_cache[index[b], lengths[b]:lengths[b] + new] = v[b]
    totals = [n + new for n in lengths]
    if paged:  # gather each sequence's pages: [batch, capacity, H, D] (a copy)
        keys = _stack_pages(k_cache, rows, page, q)
        values = _stack_pages(v_cache, rows, page, q)
    elif cache_batch_idx is not None:
        keys, values = k_cache[index], v_cache[index]
    else:
        keys, values = k_cache[:batch], v_cache[:batch]
    one, per_batch = _slopes(fn, alibi_slopes, batch)
    if per_batch is not None or any(starts):  # one call per sequence on its own key range
        parts = []
        for b in range(batch):
            slopes = per_batch[b] if per_batch is not None else one
            opts = _options(causal, window_size, softmax_scale, softcap, slopes, 0.0, 0)
            parts.append(_dispatch.forward(q[b:b + 1], keys[b:b + 1, starts[b]:totals[b]],
                                           values[b:b + 1, starts[b]:totals[b]], opts, return_lse=True))
        out, lse = _cat([p[0] for p in parts], 0, q), _cat([p[1] for p in parts], 0, q)
    else:
        opts = _options(causal, window_size, softmax_scale, softcap, one, 0.0, 0, seqlens_k=totals)
        out, lse = _dispatch.forward(q, keys, values, opts, return_lse=True)
    return (out, _flash_lse(lse)) if return_lse else out


def _ints_2d(fn, name, x, blocks):
    rows = _values(fn, name, x)
    for r in rows:
        if not isinstance(r, list):
            raise ValueError(f"{fn}: {name} must be 2-D (batch, max_blocks)")
        for v in r:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < blocks:
                raise ValueError(f"{fn}: {name} entry {v!r} is outside [0, {blocks - 1}]")
    return rows


def _stack_pages(cache, rows, page, like):
    parts = []
    for r in rows:
        blocks = cache[r]  # [max_blocks, page, H, D]
        parts.append(blocks.reshape((1, len(r) * page) + tuple(cache.shape[2:])))
    return _cat(parts, 0, like)
