// attend::attention: validation, planning and dispatch of the fast forward kernel.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

#include "attend/attention.h"
#include "attend/runtime.h"
#include "core/check.h"
#include "core/element.h"
#include "core/thread_pool.h"
#include "kernels/forward_plan.h"
#include "kernels/problem.h"

namespace attend {
namespace kernels {
namespace {

constexpr std::int64_t kMaxHeadSize = 1024;

ForwardTaskFn pick_forward(Isa isa) {
  switch (isa) {
    case Isa::avx512: return forward_task_avx512;
    case Isa::avx2: return forward_task_avx2;
    case Isa::scalar: return forward_task_scalar;
  }
  return forward_task_scalar;
}

struct AlignedFree { void operator()(float* p) const { std::free(p); } };

// One selected row for the capture sink: full logits (O(Nk)) and weights from the row's lse.
void capture_row(const Problem& p, std::int64_t seq, std::int64_t h, std::int64_t i, float lse,
                 std::vector<float>& scores, std::vector<float>& weights) {
  const Sequence& s = p.seqs[static_cast<std::size_t>(seq)];
  scores.assign(static_cast<std::size_t>(s.nk), kNegInf);
  weights.assign(static_cast<std::size_t>(s.nk), 0.0f);
  const KeyRange r = p.visible(i, s);
  const std::int64_t qo = s.batch * p.q.step(0) + (s.q0 + i) * p.q.step(1) + h * p.q.step(2);
  for (std::int64_t j = std::max<std::int64_t>(0, r.lo); j < std::min(s.nk, r.hi); ++j) {
    const std::int64_t ko = s.batch * p.k.step(0) + (s.k0 + j) * p.k.step(1) + p.kv_head(h) * p.k.step(2);
    float dot = 0;
    for (std::int64_t c = 0; c < p.d; ++c)
      dot += core::load_f32(p.q.data, p.q.dtype, qo + c * p.q.step(3)) * core::load_f32(p.k.data, p.k.dtype, ko + c * p.k.step(3));
    const float x = p.modify_logit(p.scale * dot, seq, h, i, j, s);
    scores[static_cast<std::size_t>(j)] = x;
    weights[static_cast<std::size_t>(j)] = lse > kNegInf ? std::exp(x - lse) : 0.0f;
  }
  p.capture->on_row(seq, h, i, scores, weights);
}

}  // namespace

void forward(const Problem& p) {
  if (p.d > kMaxHeadSize || p.dv > kMaxHeadSize)
    detail::fail("attention", "head size D = ", p.d, ", Dv = ", p.dv, " exceeds the supported maximum ", kMaxHeadSize);
  // Tile sizes: 64 query rows x 64 keys keeps Q, Kᵀ, V, S and O of a D = 128 head inside L2.
  ForwardScratch layout;
  layout.bq = 64;
  layout.bk = 64;
  layout.d = p.d;
  layout.dvp = (p.dv + 15) / 16 * 16;
  layout.layout();

  std::vector<ForwardTask> tasks;
  for (std::size_t s = 0; s < p.seqs.size(); ++s)
    for (std::int64_t h = 0; h < p.hq; ++h)
      for (std::int64_t i0 = 0; i0 < p.seqs[s].nq; i0 += layout.bq)
        tasks.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(h), i0,
                         std::min(p.seqs[s].nq, i0 + layout.bq)});
  // Largest tasks first (causal blocks near the end see the most keys): dynamic scheduling then
  // balances the triangle.
  auto cost = [&](const ForwardTask& t) {
    const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
    const KeyRange a = p.visible(t.i0, s), b = p.visible(t.i1 - 1, s);
    return std::max<std::int64_t>(0, std::min(s.nk, b.hi) - std::max<std::int64_t>(0, a.lo));
  };
  std::stable_sort(tasks.begin(), tasks.end(), [&](const ForwardTask& a, const ForwardTask& b) { return cost(a) > cost(b); });

  core::ThreadPool& pool = core::global_pool();
  const int workers = pool.workers_for(static_cast<std::int64_t>(tasks.size()), p.threads);
  std::unique_ptr<float, AlignedFree> scratch(static_cast<float*>(
      std::aligned_alloc(64, static_cast<std::size_t>(layout.total * workers) * sizeof(float))));
  if (!scratch) detail::fail("attention", "out of memory for ", workers, " worker scratch buffers");
  const bool stats = p.capture && p.capture->wants_stats();
  const int sink = p.capture ? p.capture->sink_tokens() : 0;
  const ForwardTaskFn run = pick_forward(active_isa());

  pool.parallel_for(static_cast<std::int64_t>(tasks.size()), [&](std::int64_t ti, int worker) {
    const ForwardTask& t = tasks[static_cast<std::size_t>(ti)];
    float* mine = scratch.get() + layout.total * worker;
    RowStats st[64];
    run(p, layout, t, mine, stats, sink, st);
    if (!p.capture) return;
    if (stats) p.capture->on_stats(t.seq, t.head, t.i0, std::span<const RowStats>(st, static_cast<std::size_t>(t.i1 - t.i0)));
    std::vector<float> scores, weights;
    for (std::int64_t i = t.i0; i < t.i1; ++i)
      if (p.capture->wants_row(t.seq, t.head, i)) capture_row(p, t.seq, t.head, i, mine[layout.lse + i - t.i0], scores, weights);
  }, p.threads);
}

}  // namespace kernels

void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
               const AttentionOptions& opts, const TensorView& lse) {
  const kernels::Problem p = kernels::make_problem("attention", q, k, v, out, opts, lse);
  kernels::forward(p);
}

double attention_flops(std::int64_t batch, std::int64_t heads, std::int64_t nq, std::int64_t nk,
                       std::int64_t d, std::int64_t dv, const AttentionOptions& opts) {
  kernels::Problem p;
  p.hq = heads; p.d = d; p.dv = dv;
  p.left = opts.window_left;
  p.right = opts.causal ? (opts.window_right < 0 ? 0 : std::min<std::int64_t>(opts.window_right, 0)) : opts.window_right;
  p.offset = opts.position_offset;
  for (std::int64_t b = 0; b < batch; ++b) p.seqs.push_back({b, 0, nq, 0, nk});
  return kernels::flops_for(p);
}

}  // namespace attend
