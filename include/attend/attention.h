#pragma once
// Exact scaled-dot-product attention, forward.
//
// Shape letters: B batch, Nq queries, Nk keys, Hq query heads, Hkv key/value heads (Hq % Hkv == 0;
// query head h reads KV head h / (Hq / Hkv)), D query/key width, Dv value width.
//
//   q:   [B, Nq, Hq, D]    any strides (so [B, H, N, D] memory is q.permuted(0, 2, 1, 3))
//   k:   [B, Nk, Hkv, D]
//   v:   [B, Nk, Hkv, Dv]
//   out: [B, Nq, Hq, Dv]   written
//   lse: [B, Hq, Nq]       optional, f32, written: log Σ_j exp(s_ij), -inf for a fully masked row
//
//   out_i = Σ_j softmax_j(s_ij) · v_j, with the logit s_ij built in this order:
//     s = scale · q_i·k_j                       (scale defaults to 1/√D)
//     s = softcap · tanh(s / softcap)            (when softcap > 0)
//     s += bias[b, h, i, j]                      (broadcast; -inf masks)
//     s += -alibi_slopes[h] · |i' − j|
//     s = -inf where the mask hides j from i
//   where i' = i + (Nk − Nq) is the query's position in key coordinates: causal and windows are
//   bottom-right aligned (as FlashAttention >= 2.1), so a query block appended to a cache sees the
//   whole cache. The causal mask hides j > i'; the window (left, right) hides j < i' − left and
//   j > i' + right (-1 = unbounded). A row with no visible key gets out = 0 and lse = -inf.
//   opts.position_offset is added to i' (masks and ALiBi): a block of queries can then be placed
//   against a block of keys taken from elsewhere in a longer sequence (ring attention).
//
// Inputs and outputs may be f32, bf16 or f16 independently; accumulation is always f32.
// Never allocates an Nq x Nk buffer; parallel over (batch, head, query block).
#include <cstdint>
#include <optional>
#include "attend/span.h"

#include "attend/capture.h"
#include "attend/tensor.h"

namespace attend {

struct AttentionOptions {
  std::optional<float> scale;            // default 1/√D
  bool causal = false;
  std::int64_t window_left = -1;         // -1: unbounded
  std::int64_t window_right = -1;        // -1: unbounded (causal implies 0)
  float softcap = 0;                     // 0: off
  std::int64_t position_offset = 0;      // added to i' = i + (Nk − Nq) (masks and ALiBi)
  TensorView bias;                       // optional, broadcastable to [B, Hq, Nq, Nk]
  Span<const float> alibi_slopes;   // optional, [Hq]

  // Ragged batch, packed: q is [1, Σ Nq_b, Hq, D], k and v [1, Σ Nk_b, Hkv, D]; these hold B + 1
  // cumulative offsets (first 0). The bias is then indexed [b, h, local i, local j].
  Span<const std::int32_t> cu_seqlens_q;
  Span<const std::int32_t> cu_seqlens_k;
  // Ragged batch, padded: sequence b uses only its first seqlens_k[b] keys (alignment included).
  Span<const std::int32_t> seqlens_k;

  // Attention dropout (training): weight p_ij is kept with probability 1 − dropout_p and scaled by
  // 1/(1 − dropout_p); the keep decision is a pure function of (seed, b, h, i, j), so the backward
  // pass recomputes it without storing a mask. lse is that of the undropped weights.
  float dropout_p = 0;
  std::uint64_t dropout_seed = 0;

  // Backward only: results bitwise identical for any thread count (see attention_backward).
  bool deterministic = false;

  int threads = 0;                       // 0: the global setting (attend::set_num_threads)
  CaptureSink* capture = nullptr;        // optional: streaming statistics and selected rows
};

void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
               const AttentionOptions& opts = {}, const TensorView& lse = {});

// FLOPs of the forward under the project's convention (4·Nq·Nk·D per head, counting only the
// unmasked pairs for causal/window masks), used by benchmarks and reports.
double attention_flops(std::int64_t batch, std::int64_t heads, std::int64_t nq, std::int64_t nk,
                       std::int64_t d, std::int64_t dv, const AttentionOptions& opts = {});

namespace reference {
// The specification: the same contract computed plainly in double precision (O(Nk) memory per
// row). Slow; tests and the demo compare every fast path with it.
void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
               const AttentionOptions& opts = {}, const TensorView& lse = {});
}  // namespace reference

}  // namespace attend
