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
#include "core/memory.h"
#include "core/scratch_cache.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/forward_bf16.h"
#include "kernels/forward_plan.h"
#include "kernels/problem.h"

namespace attend {
namespace kernels {
namespace {

constexpr std::int64_t kMaxThumbColumns = 4096;  // 3 · 4096 floats of scratch per query row of a block

// Panel floats per batch of groups: a batch holds at least one group, more while under this cap
// (so all heads of a typical call are packed in one parallel pass, and memory stays O(Nk · D)).
constexpr std::int64_t kPanelBatchFloats = std::int64_t{8} << 20;  // 32 MiB


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

bool forward_bf16_applies(const Problem& p, const KernelTable& kt) {
  return kt.forward_task_bf16 != nullptr && p.q.dtype == DType::bf16 && p.k.dtype == DType::bf16 &&
         p.v.dtype == DType::bf16 && p.capture == nullptr && !(p.dropout_p > 0) && !p.has_modifiers();
}

void forward(const Problem& p) {
  const KernelTable& kt = active_kernels();  // the path, chosen once for the whole call
  // Tile sizes from the caches. The kernels run one 6-row group at a time through S, softmax and
  // P·V, so L1 holds only 6 × bk logits; each group re-reads the key tile's Kᵀ and V, which stay in
  // L2 when both together take 1/8 of it: bk = L2 / (64 · D) keys (f32-sized, also for bf16), in
  // [64, 256]. With this machine's 1 MiB L2, D = 128 gets 128 keys and D = 64 256: measured against
  // half those, f32 +2–3 % (N = 512 causal +10 %) and +3–10 %; the bf16 path the same at D = 64.
  // Long tiles halve the per-row softmax bookkeeping per FLOP and lengthen the P·V product's K loop.
  // 72 query rows keep a block's Q and O (72 KiB at D = 128) in L2 next to them.
  ForwardScratch layout;
  layout.bq = ForwardScratch::kBlockRows;
  const std::int64_t l2 = cache_sizes().l2;
  layout.bk = std::clamp<std::int64_t>(l2 / (64 * std::max<std::int64_t>(p.d, 1)) / 64 * 64, 64, 256);
  layout.d = p.d;
  layout.dvp = (p.dv + 15) / 16 * 16;
  const bool bf16 = forward_bf16_applies(p, kt);  // bf16 q/k/v on avx512: vdpbf16ps tile products
  layout.bf16_weights = bf16;
  if (p.capture) {
    // Thumbnail bins per row (kernels/thumb_tile.h), at most the longest key sequence.
    const std::int64_t cols = p.capture->thumb_columns();
    if (cols < 0 || cols > kMaxThumbColumns)
      detail::fail("attention", "the capture sink asks for ", cols, " thumbnail columns; allowed 0 ..", kMaxThumbColumns);
    std::int64_t nk_max = 0;
    for (const Sequence& s : p.seqs) nk_max = std::max(nk_max, s.nk);
    layout.thumb_cols = std::min(cols, nk_max);
  }
  layout.layout();

  const std::int64_t bk = layout.bk;
  ForwardPanels panels;
  panels.v_packed = !(p.v.dtype == DType::f32 && p.v.step(3) == 1 && p.dv % 16 == 0);
  panels.tile_floats = p.d * bk + (panels.v_packed ? bk * layout.dvp : 0);
  if (bf16) {
    panels.v_packed = true;
    panels.tile_floats = forward_bf16_tile_floats(p.d, bk, layout.dvp);
  }
  const std::int64_t groups = static_cast<std::int64_t>(p.seqs.size()) * p.hkv;
  auto tiles_of = [&](std::int64_t g) { return (p.seqs[static_cast<std::size_t>(g / p.hkv)].nk + bk - 1) / bk; };
  std::int64_t max_batch_tiles = 0;
  for (std::int64_t g = 0, acc = 0; g < groups; ++g) {  // the largest batch sizes the buffer
    const std::int64_t n = tiles_of(g);
    acc = (acc > 0 && (acc + n) * panels.tile_floats > kPanelBatchFloats) ? n : acc + n;
    max_batch_tiles = std::max(max_batch_tiles, acc);
  }

  core::ThreadPool& pool = core::global_pool();
  const int workers = pool.workers_for(std::int64_t{1} << 40, p.threads);  // any task count: the most workers
  // Both from the calling thread's scratch cache: repeated calls reuse already-mapped pages.
  core::ScratchFloats scratch("attention", "the worker scratch", static_cast<std::uint64_t>(layout.total * workers));
  core::ScratchFloats panel_buf("attention", "the K/V panels",
                                static_cast<std::uint64_t>(std::max<std::int64_t>(1, max_batch_tiles * panels.tile_floats)));
  std::vector<unsigned char> nonfinite(static_cast<std::size_t>(std::max<std::int64_t>(1, max_batch_tiles)));
  panels.data = panel_buf.get();
  panels.nonfinite = nonfinite.data();
  const bool stats = p.capture && p.capture->wants_stats();
  const int sink = p.capture ? p.capture->sink_tokens() : 0;
  const ForwardTaskFn run = bf16 ? kt.forward_task_bf16 : kt.forward_task;
  const ForwardPackFn pack = bf16 ? kt.forward_pack_bf16 : kt.forward_pack;

  std::vector<std::int64_t> group_tile0;
  std::vector<PackUnit> units;
  std::vector<ForwardTask> tasks;
  for (std::int64_t g0 = 0; g0 < groups;) {
    // Batch [g0, g1): consecutive (sequence, KV head) groups whose panels fit the cap.
    std::int64_t g1 = g0, ntiles = 0;
    group_tile0.clear();
    units.clear();
    tasks.clear();
    while (g1 < groups && (g1 == g0 || (ntiles + tiles_of(g1)) * panels.tile_floats <= kPanelBatchFloats)) {
      const auto s = static_cast<std::int32_t>(g1 / p.hkv);
      const std::int64_t hk = g1 % p.hkv;
      group_tile0.push_back(ntiles);
      for (std::int64_t j0 = 0; j0 < p.seqs[static_cast<std::size_t>(s)].nk; j0 += bk)
        units.push_back({s, static_cast<std::int32_t>(hk), j0, ntiles++});
      for (std::int64_t h = hk * p.group; h < (hk + 1) * p.group; ++h)
        for (std::int64_t i0 = 0; i0 < p.seqs[static_cast<std::size_t>(s)].nq; i0 += layout.bq)
          tasks.push_back({s, static_cast<std::int32_t>(h), i0, std::min(p.seqs[static_cast<std::size_t>(s)].nq, i0 + layout.bq)});
      ++g1;
    }
    panels.g0 = g0;
    panels.group_tile0 = group_tile0.data();
    // Order: head by head (consecutive tasks, on either worker, stream the same K/V panels while
    // they are still in L2/L3: +7–11 % causal at N = 4096 over a global largest-first order), and
    // within a head the largest blocks first (causal blocks near the end see the most keys), so
    // the dynamic schedule ends on small tasks and balances the triangle.
    auto cost = [&](const ForwardTask& t) {
      const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
      const KeyRange a = p.visible(t.i0, s), b = p.visible(t.i1 - 1, s);
      return std::max<std::int64_t>(0, std::min(s.nk, b.hi) - std::max<std::int64_t>(0, a.lo));
    };
    std::stable_sort(tasks.begin(), tasks.end(), [&](const ForwardTask& a, const ForwardTask& b) {
      if (a.seq != b.seq || a.head != b.head) return a.seq != b.seq ? a.seq < b.seq : a.head < b.head;
      return cost(a) > cost(b);
    });

    pool.parallel_for(static_cast<std::int64_t>(units.size()),
                      [&](std::int64_t ui, int) { pack(p, layout, panels, units[static_cast<std::size_t>(ui)]); }, p.threads);
    pool.parallel_for(static_cast<std::int64_t>(tasks.size()), [&](std::int64_t ti, int worker) {
      const ForwardTask& t = tasks[static_cast<std::size_t>(ti)];
      float* mine = scratch.get() + layout.total * worker;
      RowStats st[ForwardScratch::kBlockRows];
      run(p, layout, panels, t, mine, stats, sink, st);
      if (!p.capture) return;
      if (stats) p.capture->on_stats(t.seq, t.head, t.i0, Span<const RowStats>(st, static_cast<std::size_t>(t.i1 - t.i0)));
      if (layout.thumb_cols > 0) {
        const std::int64_t c = std::min(layout.thumb_cols, p.seqs[static_cast<std::size_t>(t.seq)].nk);
        for (std::int64_t i = t.i0; i < t.i1; ++i) {
          const float* bins = mine + layout.thumb + (i - t.i0) * 3 * layout.thumb_cols;
          p.capture->on_thumb_row(t.seq, t.head, i, Span<const float>(bins, static_cast<std::size_t>(c)),
                                  Span<const float>(bins + c, static_cast<std::size_t>(c)));
        }
      }
      std::vector<float> scores, weights;
      for (std::int64_t i = t.i0; i < t.i1; ++i)
        if (p.capture->wants_row(t.seq, t.head, i)) capture_row(p, t.seq, t.head, i, mine[layout.lse + i - t.i0], scores, weights);
    }, p.threads);
    g0 = g1;
  }
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
  p.right = kernels::causal_right(opts.causal, opts.window_right);
  p.offset = opts.position_offset;
  for (std::int64_t b = 0; b < batch; ++b) p.seqs.push_back({b, 0, nq, 0, nk});
  return kernels::flops_for(p);
}

}  // namespace attend
