// The specification of attention forward: plain loops in double precision, one query row at a
// time (O(Nk) scratch, never Nq x Nk). Every fast path is tested against this file.
//
//   s_j  = modify(scale · q·k_j)  or -inf where masked      (see Problem::modify_logit)
//   p_j  = exp(s_j − m) / Σ exp(s − m),  m = max_j s_j
//   out  = Σ_j p_j · keep_j / (1 − dropout_p) · v_j,   lse = m + log Σ exp(s − m)
#include <algorithm>
#include <cmath>
#include <vector>

#include "attend/attention.h"
#include "core/element.h"
#include "kernels/problem.h"
#include "kernels/row_stats.h"

namespace attend::reference {

using kernels::Problem;
using kernels::Sequence;

namespace {

double dot_qk(const Problem& p, const Sequence& s, std::int64_t h, std::int64_t i, std::int64_t j) {
  const std::int64_t qo = s.batch * p.q.step(0) + (s.q0 + i) * p.q.step(1) + h * p.q.step(2);
  const std::int64_t ko = s.batch * p.k.step(0) + (s.k0 + j) * p.k.step(1) + p.kv_head(h) * p.k.step(2);
  double acc = 0;
  for (std::int64_t c = 0; c < p.d; ++c)
    acc += static_cast<double>(core::load_f32(p.q.data, p.q.dtype, qo + c * p.q.step(3))) *
           static_cast<double>(core::load_f32(p.k.data, p.k.dtype, ko + c * p.k.step(3)));
  return acc;
}

}  // namespace

void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
               const AttentionOptions& opts, const TensorView& lse) {
  const Problem p = kernels::make_problem("reference::attention", q, k, v, out, opts, lse);
  const bool stats = p.capture && p.capture->wants_stats();
  const std::int64_t thumb_cols = p.capture ? p.capture->thumb_columns() : 0;
  std::vector<double> logits, acc(static_cast<std::size_t>(p.dv));
  std::vector<float> row_s, row_p, bin_sum, bin_max;
  for (std::size_t si = 0; si < p.seqs.size(); ++si) {
    const Sequence& s = p.seqs[si];
    const auto seq = static_cast<std::int64_t>(si);
    logits.assign(static_cast<std::size_t>(s.nk), 0.0);
    for (std::int64_t h = 0; h < p.hq; ++h) {
      std::vector<RowStats> head_stats;
      for (std::int64_t i = 0; i < s.nq; ++i) {
        const kernels::KeyRange r = p.visible(i, s);
        double m = -INFINITY;
        for (std::int64_t j = 0; j < s.nk; ++j) {
          double x = -INFINITY;
          if (j >= r.lo && j < r.hi) x = p.modify_logit(static_cast<double>(p.scale) * dot_qk(p, s, h, i, j), seq, h, i, j, s);
          logits[static_cast<std::size_t>(j)] = x;
          if (x > m) m = x;
        }
        double l = 0;
        if (m > -INFINITY)
          for (double x : logits) l += std::exp(x - m);
        const double row_lse = m > -INFINITY ? m + std::log(l) : -INFINITY;
        std::fill(acc.begin(), acc.end(), 0.0);
        if (m > -INFINITY) {
          const double keep_scale = 1.0 / (1.0 - static_cast<double>(p.dropout_p));
          for (std::int64_t j = 0; j < s.nk; ++j) {
            double w = std::exp(logits[static_cast<std::size_t>(j)] - m) / l;
            if (w == 0) continue;
            if (p.dropout_p > 0)
              w = kernels::dropout_keep(p.dropout_seed, p.dropout_p, seq, h, i, j) ? w * keep_scale : 0.0;
            const std::int64_t vo = s.batch * p.v.step(0) + (s.k0 + j) * p.v.step(1) + p.kv_head(h) * p.v.step(2);
            for (std::int64_t c = 0; c < p.dv; ++c)
              acc[static_cast<std::size_t>(c)] += w * static_cast<double>(core::load_f32(p.v.data, p.v.dtype, vo + c * p.v.step(3)));
          }
        }
        const std::int64_t oo = s.batch * p.out.step(0) + (s.q0 + i) * p.out.step(1) + h * p.out.step(2);
        for (std::int64_t c = 0; c < p.dv; ++c)
          core::store_f32(p.out.data, p.out.dtype, oo + c * p.out.step(3), static_cast<float>(acc[static_cast<std::size_t>(c)]));
        if (!p.lse.empty())
          static_cast<float*>(p.lse.data)[s.batch * p.lse.step(0) + h * p.lse.step(1) + (s.q0 + i) * p.lse.step(2)] =
              static_cast<float>(row_lse);
        if (stats)
          head_stats.push_back(kernels::row_stats_exact(logits, row_lse, p.query_pos(i, s), p.capture->sink_tokens(), r));
        if (thumb_cols > 0) {  // key j in bin ⌊j·C/Nk⌋: sum and max of the exact weights
          const std::int64_t c = std::min(thumb_cols, s.nk);
          std::vector<double> sum(static_cast<std::size_t>(c), 0.0), mx(static_cast<std::size_t>(c), 0.0);
          for (std::int64_t j = 0; j < s.nk && m > -INFINITY; ++j) {
            const double w = std::exp(logits[static_cast<std::size_t>(j)] - row_lse);
            sum[static_cast<std::size_t>(j * c / s.nk)] += w;
            mx[static_cast<std::size_t>(j * c / s.nk)] = std::max(mx[static_cast<std::size_t>(j * c / s.nk)], w);
          }
          bin_sum.assign(sum.begin(), sum.end());
          bin_max.assign(mx.begin(), mx.end());
          p.capture->on_thumb_row(seq, h, i, bin_sum, bin_max);
        }
        if (p.capture && p.capture->wants_row(seq, h, i)) {
          row_s.resize(static_cast<std::size_t>(s.nk));
          row_p.resize(static_cast<std::size_t>(s.nk));
          for (std::int64_t j = 0; j < s.nk; ++j) {
            const double x = logits[static_cast<std::size_t>(j)];
            row_s[static_cast<std::size_t>(j)] = static_cast<float>(x);
            row_p[static_cast<std::size_t>(j)] = m > -INFINITY ? static_cast<float>(std::exp(x - row_lse)) : 0.0f;
          }
          p.capture->on_row(seq, h, i, row_s, row_p);
        }
      }
      if (stats) p.capture->on_stats(seq, h, 0, head_stats);
    }
  }
}

}  // namespace attend::reference
