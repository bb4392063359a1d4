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
// Determinism and its cost: one task per (sequence, KV head) owns that head's dK, dV and the dQ of
// its query-head group, and sums in a fixed order, so results are bitwise identical for any thread
// count whether or not opts.deterministic is set — the flag costs nothing. The price is paid in
// parallelism instead: at most B·Hkv (ragged: sequences·Hkv) workers are busy, so a single sequence
// with one KV head runs on one thread. Scratch is O(threads·tile²) plus, only with dbias, one f32
// [group, Nq, Nk] buffer per task (the caller asked for an Nq×Nk gradient).
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
