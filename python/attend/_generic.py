"""attend's own entry points: attention, attention_backward (and their references) and decode.

attend's names and conventions only: [B, N, H, D] (layout='bhsd' for [B, H, N, D]), causal and
windows bottom-right aligned, logit_scale, bias, alibi. The keywords of torch's
scaled_dot_product_attention and of flash-attn are refused with a message naming the entry point
that has their semantics (attend.torch.scaled_dot_product_attention, attend.flash_attn_func).
numpy arrays in give numpy arrays out; torch tensors in give torch tensors out (differentiable).
"""
from . import _attend as _C
from . import _dispatch
from ._strict import strict

_POSITIONAL_HINT = ("For torch's positional order (query, key, value, attn_mask, dropout_p, is_causal) use "
                    "attend.torch.scaled_dot_product_attention ([B, H, L, E], top-left causal); for flash-attn's "
                    "(q, k, v, dropout_p, softmax_scale, causal, ...) use attend.flash_attn_func")

_FORWARD_DOC = """Exact scaled-dot-product attention (forward){ref}.

    q: [B, Nq, Hq, D]   (layout='bhsd': [B, Hq, Nq, D]; packed with cu_seqlens: [total_q, Hq, D])
    k: [B, Nk, Hkv, D]  (Hq % Hkv == 0: grouped-query attention)
    v: [B, Nk, Hkv, Dv]
    returns out: [B, Nq, Hq, Dv] in q's layout and dtype, and with return_lse=True also
    lse: float32 [B, Hq, Nq] (log-sum-exp of each row's logits; -inf for a fully masked row).

  out_i = sum_j softmax_j(s_ij) v_j with s = logit_scale * q.k, then softcap * tanh(s / softcap),
  + bias, - alibi[h] * |i' - j|, masked by causal / window. i' = i + Nk - Nq: causal and windows are
  BOTTOM-RIGHT aligned (as flash-attn >= 2.1). A fully masked row gives out = 0, lse = -inf.
  For torch's semantics (top-left causal, [B, H, L, E]) use attend.torch.scaled_dot_product_attention;
  for flash-attn's names use attend.flash_attn_func.

  causal: hide keys after the query's position.  window: (left, right) keys visible around it, -1
  unbounded.  logit_scale: default 1/sqrt(D).  softcap: 0 = off.
  bias: float, broadcastable to [B, Hq, Nq, Nk] (-inf masks), or bool (True = takes part); always
    in [B, H, Nq, Nk] order whatever the layout.  alibi: [Hq] slopes.
  dropout_p, seed: attention dropout, reproducible from seed (backward recomputes the same mask).
  cu_seqlens_q, cu_seqlens_k: packed ragged batch (B + 1 int32 offsets; q, k, v [total, H, D]).
  seqlens_k: padded ragged batch ([B] valid key counts).  threads: None = attend.num_threads().
  dtype='bfloat16': uint16 arrays hold bf16 bits.  out: preallocated output (q's dtype and the
  shape returned; any strides), written in place.

  Arrays: float32, float16, bfloat16 (torch.bfloat16, ml_dtypes.bfloat16, or uint16 with
  dtype='bfloat16'); numpy arrays (native byte order) or CPU torch tensors, used in place through
  their strides (a numpy input is copied only when unaligned or with negative strides). torch in,
  torch out, differentiable. The GIL is released while computing. Bad input raises ValueError
  naming the argument; a bad call (unknown keyword, another library's keyword) raises TypeError.
"""

_BACKWARD_DOC = """Gradients of attention (training), FlashAttention-2 style{ref}.

    q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D], v: [B, Nk, Hkv, Dv]  as in attend.attention (same
       layout, options and dtypes as the forward call)
    out:  [B, Nq, Hq, Dv]  the forward's output
    dout: [B, Nq, Hq, Dv]  gradient of the loss with respect to out
    lse:  float32 [B, Hq, Nq]  the forward's log-sum-exp (attention(..., return_lse=True))
    returns (dq, dk, dv) with the shapes, layout and dtype of q, k, v; with return_dbias=True
    (needs a float bias) also dbias: float32 in the bias's shape (broadcast dimensions summed).

  Pass the same options as the forward (causal, window, logit_scale, softcap, bias, alibi,
  dropout_p and seed, ragged offsets). dk and dv sum over the query heads sharing a KV head.
  deterministic=True gives results bitwise identical for any thread count. The GIL is released
  while computing. Bad input raises ValueError naming the argument.
"""


def _make(reference):
    suffix = " -- the double-precision specification (slow)" if reference else ""
    prefix = "attend.reference." if reference else "attend."

    @strict(prefix + "attention", _POSITIONAL_HINT)
    def attention(q, k, v, *, causal=False, window=(-1, -1), logit_scale=None, softcap=0.0, bias=None, alibi=None,
                  dropout_p=0.0, seed=0, return_lse=False, layout="bshd", dtype=None, cu_seqlens_q=None,
                  cu_seqlens_k=None, seqlens_k=None, threads=None, out=None):
        opts = dict(causal=causal, window=window, logit_scale=logit_scale, softcap=softcap, alibi=alibi,
                    dropout_p=dropout_p, seed=seed, layout=layout, dtype=dtype, cu_seqlens_q=cu_seqlens_q,
                    cu_seqlens_k=cu_seqlens_k, seqlens_k=seqlens_k, threads=threads)
        return _dispatch.forward(q, k, v, opts, bias=bias, return_lse=return_lse, out=out, reference=reference)

    @strict(prefix + "attention_backward")
    def attention_backward(q, k, v, out, dout, lse, *, causal=False, window=(-1, -1), logit_scale=None, softcap=0.0,
                           bias=None, alibi=None, dropout_p=0.0, seed=0, return_dbias=False, deterministic=False,
                           layout="bshd", dtype=None, cu_seqlens_q=None, cu_seqlens_k=None, seqlens_k=None,
                           threads=None):
        opts = dict(causal=causal, window=window, logit_scale=logit_scale, softcap=softcap, alibi=alibi,
                    dropout_p=dropout_p, seed=seed, layout=layout, dtype=dtype, cu_seqlens_q=cu_seqlens_q,
                    cu_seqlens_k=cu_seqlens_k, seqlens_k=seqlens_k, threads=threads)
        return _dispatch.backward(q, k, v, out, dout, lse, opts, bias=bias, return_dbias=return_dbias,
                                  deterministic=deterministic, reference=reference)

    attention.__doc__ = _FORWARD_DOC.format(ref=suffix)
    attention_backward.__doc__ = _BACKWARD_DOC.format(ref=suffix)
    return attention, attention_backward


attention, attention_backward = _make(False)
reference_attention, reference_attention_backward = _make(True)


@strict("attend.decode")
def decode(q, cache, *, logit_scale=None, softcap=0.0, window=-1, alibi=None, sequences=None, return_lse=False,
           dtype=None, threads=None, out=None):
    """Decode attention over a KV cache (flash-decoding, exact).

    q: [S, T, Hq, D]  T new tokens per sequence, whose k/v were already appended to the cache
    cache: attend.KVCache or attend.PagedKVCache (G KV heads; Hq a multiple of G)
    returns out: [S, T, Hq, Dv] in q's dtype; with return_lse=True also lse: float32 [S, Hq, T].

  Query t of sequence s sits at position length(s) - T + t and sees the kept cached tokens at
  positions <= its own (causal), within `window` of it (-1: no extra window). logit_scale
  defaults to 1/sqrt(D); softcap 0 = off; alibi: [Hq] slopes. sequences: which cache sequences
  q's S rows are (default 0..S-1). q: numpy array or CPU torch tensor (torch in, torch out), used
  in place. The GIL is released and the cache locked against appends from other threads during
  the call. Bad input raises ValueError naming the argument.
    """
    opts = dict(logit_scale=logit_scale, softcap=softcap, window=window, alibi=alibi, sequences=sequences,
                dtype=dtype, threads=threads)
    torch = _dispatch.torch_or_none() if _dispatch.is_tensor(q) else None
    if torch is None or q.dim() != 4:  # numpy in, numpy out (the binding checks q's rank)
        return _C.decode(q, cache, return_lse=return_lse, out=out, **opts)
    s, t, hq = q.shape[:3]  # torch in, torch out: written in place through DLPack
    if out is None:
        out = torch.empty((s, t, hq, cache.value_dim), dtype=q.dtype, device=q.device)
    lse = torch.empty((s, hq, t), dtype=torch.float32, device=q.device) if return_lse else None
    return _C.decode(q.detach(), cache, return_lse=return_lse, out=out, lse_out=lse, **opts)
