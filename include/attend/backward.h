#pragma once
// Exact attention backward (training). Same shape letters and options as attention.h.
//
//   q, k, v, out:  as in the forward (out is the forward's output)
//   dout: [B, Nq, Hq, Dv]   gradient of the loss with respect to out
//   lse:  [B, Hq, Nq]       the forward's log-sum-exp (f32)
//   grads.dq: [B, Nq, Hq, D], grads.dk: [B, Nk, Hkv, D], grads.dv: [B, Nk, Hkv, Dv]   written
//   grads.dbias: optional, same shape as opts.bias (broadcast dimensions are summed)  written
//
// The weights are recomputed from the given lse, p_ij = exp(s_ij − lse_i), and
// D_i = Σ_c dout_ic · out_ic is taken from the given out; so a caller holding only some of the
// keys (ring attention) passes the global out and lse and gets that block's exact share.
// dk and dv sum over the query heads that share a KV head (GQA/MQA). Fully masked rows
// (lse = -inf) contribute nothing. Dropout uses the forward's seed: the keep mask is recomputed.
//
// Work split, determinism and their cost:
//   opts.deterministic = true: one task per (sequence, KV head) owns that head's dK, dV and the dQ
//     of its query-head group and sums in a fixed order, so results are bitwise identical for any
//     thread count. The price is parallelism: at most B·Hkv (ragged: sequences·Hkv) workers are
//     busy, so a single sequence with one KV head runs on one thread, and unequal sequences
//     (ragged) leave workers idle at the end.
//   opts.deterministic = false (default): the same split when it keeps every worker busy (e.g.
//     B·Hkv a multiple of the threads, equal lengths) — then the results are the deterministic
//     ones. Otherwise (H = 1, few heads, ragged) each (sequence, KV head) is cut into ranges of KV
//     blocks; a task owns its keys' dK and dV, and adds its dQ share into one f32 partial buffer
//     per worker (the first is dq itself when dq is f32), summed in worker order at the end. Blocks
//     go to workers in a fixed order, so the result is bitwise repeatable run to run for a given
//     thread count, but its rounding depends on that count (still within the f32 accuracy); memory
//     grows by (workers − 1) dq-sized f32 buffers, capped at 64 MiB (fewer workers are used beyond
//     it); the extra work is O(workers·|dq|).
// Scratch is O(threads·tile·D) plus one f32 D_i per query row and head (the size of lse), plus,
// only with dbias, one f32 [group, Nq, Nk] buffer per (sequence, KV head) (the caller asked for an
// Nq×Nk gradient).
#include "attend/attention.h"

namespace attend {

struct AttentionGrads {
  TensorView dq, dk, dv;
  TensorView dbias;  // optional
};

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts = {});

namespace reference {
// The specification of the backward in double precision.
void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts = {});
}  // namespace reference

}  // namespace attend
