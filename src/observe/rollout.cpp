// Attention rollout for any query at any N (attend/observe_metrics.h, rollout_rows_exact): the
// transposed products Aᵀv through the exact backward kernel, never an N × N matrix.
#include <algorithm>

#include "attend/backward.h"
#include "attend/observe_metrics.h"
#include "attend/tensor.h"
#include "core/check.h"

namespace attend::observe {

std::vector<double> rollout_rows_exact(const Recording& rec, Span<const std::int64_t> rows) {
  using I64 = std::int64_t;
  const I64 n = rec.n, h = rec.heads, g = rec.kv_heads, d = rec.head_dim, nl = static_cast<I64>(rec.layers.size());
  if (nl < 1 || n < 1 || h < 1 || g < 1 || d < 1) detail::fail("rollout_rows_exact", "empty recording (", nl, " layers, n=", n, ")");
  for (I64 l = 0; l < nl; ++l) {
    const LayerRecord& lr = rec.layers[static_cast<std::size_t>(l)];
    if (static_cast<I64>(lr.q.size()) != n * h * d || static_cast<I64>(lr.k.size()) != n * g * d || static_cast<I64>(lr.stats.size()) != h * n)
      detail::fail("rollout_rows_exact", "layer ", l, " lacks q, k or row statistics (capture activations for every layer)");
  }
  for (I64 r : rows)
    if (r < 0 || r >= n) detail::fail("rollout_rows_exact", "row ", r, " outside [0, ", n, ")");
  constexpr I64 kChunk = 64;  // queries per backward call (its value width)
  std::vector<double> out(rows.size() * static_cast<std::size_t>(n), 0.0);
  for (std::size_t r0 = 0; r0 < rows.size(); r0 += kChunk) {
    const I64 qn = std::min<I64>(kChunk, static_cast<I64>(rows.size() - r0));
    std::vector<double> vec(static_cast<std::size_t>(n * qn), 0.0);  // [N, qn]: column c is query rows[r0 + c]'s vector
    for (I64 c = 0; c < qn; ++c) vec[static_cast<std::size_t>(rows[r0 + static_cast<std::size_t>(c)] * qn + c)] = 1;
    std::vector<float> zeros_v(static_cast<std::size_t>(n * g * qn), 0.0f), zeros_o(static_cast<std::size_t>(n * h * qn), 0.0f);
    std::vector<float> dout(static_cast<std::size_t>(n * h * qn)), lse(static_cast<std::size_t>(h * n));
    std::vector<float> dq(static_cast<std::size_t>(n * h * d)), dk(static_cast<std::size_t>(n * g * d)), dv(static_cast<std::size_t>(n * g * qn));
    for (I64 l = nl - 1; l >= 0; --l) {
      const LayerRecord& lr = rec.layers[static_cast<std::size_t>(l)];
      for (I64 i = 0; i < n; ++i)
        for (I64 hh = 0; hh < h; ++hh)
          for (I64 c = 0; c < qn; ++c) dout[static_cast<std::size_t>((i * h + hh) * qn + c)] = static_cast<float>(vec[static_cast<std::size_t>(i * qn + c)]);
      for (I64 i = 0; i < h * n; ++i) lse[static_cast<std::size_t>(i)] = lr.stats[static_cast<std::size_t>(i)].lse;  // [H, N]
      AttentionOptions opts;
      opts.causal = true;
      AttentionGrads grads;
      grads.dq = TensorView::contiguous(dq.data(), DType::f32, {1, n, h, d});
      grads.dk = TensorView::contiguous(dk.data(), DType::f32, {1, n, g, d});
      grads.dv = TensorView::contiguous(dv.data(), DType::f32, {1, n, g, qn});
      // v = 0 and out = 0: dV = Σ_h A_hᵀ·dO is all this call is for (dQ, dK come out zero).
      attention_backward(TensorView::contiguous(const_cast<float*>(lr.q.data()), DType::f32, {1, n, h, d}),
                         TensorView::contiguous(const_cast<float*>(lr.k.data()), DType::f32, {1, n, g, d}),
                         TensorView::contiguous(zeros_v.data(), DType::f32, {1, n, g, qn}),
                         TensorView::contiguous(zeros_o.data(), DType::f32, {1, n, h, qn}),
                         TensorView::contiguous(dout.data(), DType::f32, {1, n, h, qn}),
                         TensorView::contiguous(lse.data(), DType::f32, {1, h, n}), grads, opts);
      for (I64 j = 0; j < n; ++j)
        for (I64 c = 0; c < qn; ++c) {
          double s = 0;
          for (I64 gg = 0; gg < g; ++gg) s += dv[static_cast<std::size_t>((j * g + gg) * qn + c)];
          double& x = vec[static_cast<std::size_t>(j * qn + c)];
          x = 0.5 * (s / static_cast<double>(h) + x);  // Â = (Ā + I)/2: causal rows of Ā sum to 1
        }
    }
    for (I64 c = 0; c < qn; ++c)
      for (I64 j = 0; j < n; ++j) out[(r0 + static_cast<std::size_t>(c)) * static_cast<std::size_t>(n) + static_cast<std::size_t>(j)] = vec[static_cast<std::size_t>(j * qn + c)];
  }
  return out;
}

}  // namespace attend::observe
