// attend::decode: validation, planning, dispatch and the exact log-sum-exp merge of partials.
#include <algorithm>
#include <cmath>
#include <vector>

#include "attend/decode.h"
#include "core/check.h"
#include "core/element.h"
#include "core/thread_pool.h"
#include "core/view_checks.h"
#include "kernels/decode_plan.h"
#include "kernels/decode_views.h"
#include "kernels/dispatch.h"

namespace attend {
namespace kernels {
namespace {

using detail::fail;

// Outputs must not overlap the cached keys/values they are computed from (an aliased out would
// overwrite the cache while other tasks still read it).
void check_outside_cache(const char* fn, const TensorView& out, const TensorView& lse, const KVSegment& seg, const DecodeProblem& p) {
  if (seg.count == 0) return;
  const std::int64_t es = static_cast<std::int64_t>(dtype_size(p.kv_dtype));
  const auto hits = [&](const TensorView& t, const void* base, std::int64_t stride, std::int64_t head_stride, std::int64_t width) {
    const auto [lo, hi] = core::byte_span(t);
    const char* b = static_cast<const char*>(base);
    const char* e = b + ((seg.count - 1) * stride + (p.g - 1) * head_stride + width) * es;  // last row's end
    return lo < hi && lo < e && b < hi;
  };
  for (const auto* t : {&out, &lse}) {
    if (t->empty()) continue;
    const char* name = t == &out ? "out" : "lse";
    if (hits(*t, seg.k, seg.k_stride, seg.k_head_stride, p.d) || hits(*t, seg.v, seg.v_stride, seg.v_head_stride, p.dv))
      fail(fn, name, " overlaps the cache's keys or values");
  }
}

template <class Cache>
DecodeProblem make_decode_problem(const TensorView& q, const Cache& cache, const TensorView& out, const DecodeOptions& opts,
                                  const TensorView& lse, const EvictionPolicy& evict, bool empty_slots = false) {
  const char* fn = "decode";
  core::check_view(fn, "q", q, 4);
  core::check_view(fn, "out", out, 4);
  DecodeProblem p;
  p.q = q; p.out = out; p.lse = lse;
  const std::int64_t S = q.dim(0);
  p.t = q.dim(1); p.hq = q.dim(2); p.d = q.dim(3);
  p.g = cache.kv_heads(); p.dv = cache.value_dim();
  p.kv_dtype = cache.dtype();
  if (p.d != cache.head_dim()) fail(fn, "q has head size ", p.d, " but the cache holds keys of size ", cache.head_dim());
  if (p.hq <= 0 || p.hq % p.g != 0) fail(fn, "the cache has ", p.g, " heads, which does not divide q's ", p.hq, " heads");
  if (p.t <= 0) fail(fn, "q must hold at least one new token per sequence, got ", p.t);
  // The forward's logit with causal on: query t sits at position len − T + t (bottom-right).
  static_cast<LogitSpec&>(p) = make_logit_spec(
      fn, {opts.scale, /*causal=*/true, opts.window_left, -1, 0, opts.softcap, opts.alibi_slopes}, p.d, p.dv, p.hq);
  p.group = p.hq / p.g;
  if (out.dim(0) != S || out.dim(1) != p.t || out.dim(2) != p.hq || out.dim(3) != p.dv)
    fail(fn, "out has shape ", out.shape_string(), ", expected [", S, ", ", p.t, ", ", p.hq, ", ", p.dv, "]");
  core::check_writable(fn, "out", out);
  core::check_no_overlap(fn, "out", out, {{"q", &q}});
  if (!lse.empty()) {
    core::check_view(fn, "lse", lse, 3);
    if (lse.dtype != DType::f32 || lse.dim(0) != S || lse.dim(1) != p.hq || lse.dim(2) != p.t)
      fail(fn, "lse must be f32 [", S, ", ", p.hq, ", ", p.t, "], got ", dtype_name(lse.dtype), " ", lse.shape_string());
    core::check_writable(fn, "lse", lse);
    core::check_no_overlap(fn, "lse", lse, {{"q", &q}, {"out", &out}});
  }
  if (!opts.sequences.empty() && static_cast<std::int64_t>(opts.sequences.size()) != S)
    fail(fn, "sequences has ", opts.sequences.size(), " entries but q has ", S, " sequences");
  p.evict = evict;
  for (std::int64_t s = 0; s < S; ++s) {
    const std::int64_t id = opts.sequences.empty() ? s : opts.sequences[static_cast<std::size_t>(s)];
    DecodeSequence ds;
    ds.len = cache.length(id);  // validates the id
    if (ds.len < p.t && !(empty_slots && ds.len == 0)) fail(fn, "sequence ", id, " has ", ds.len, " cached tokens but q brings ", p.t, " new ones (append them first)");
    ds.segs = cache.segments(id);
    for (const KVSegment& seg : ds.segs) {
      ds.total += seg.count;
      check_outside_cache(fn, out, lse, seg, p);
    }
    ds.qrow = s;
    p.seqs.push_back(std::move(ds));
  }
  p.threads = core::resolve_threads(opts.threads);
  return p;
}

void run_decode(const DecodeProblem& p) {
  std::vector<DecodeTask> tasks;
  for (std::size_t s = 0; s < p.seqs.size(); ++s) {
    const std::int64_t total = p.seqs[s].total;
    const std::int64_t chunk = decode_chunk(total);
    for (std::int64_t c0 = 0; c0 < std::max<std::int64_t>(total, 1); c0 += chunk)
      tasks.push_back({static_cast<std::int32_t>(s), c0, std::min(total, c0 + chunk)});
  }
  const std::int64_t part = decode_partial_floats(p), scratch_n = decode_scratch_floats(p);
  std::vector<float> partials(static_cast<std::size_t>(part) * tasks.size());
  core::ThreadPool& pool = core::global_pool();
  const int workers = pool.workers_for(static_cast<std::int64_t>(tasks.size()), p.threads);
  std::vector<float> scratch(static_cast<std::size_t>(scratch_n * workers));
  const DecodeTaskFn run = active_kernels().decode_task;  // the path, chosen once for the whole call
  pool.parallel_for(static_cast<std::int64_t>(tasks.size()), [&](std::int64_t ti, int w) {
    run(p, tasks[static_cast<std::size_t>(ti)], scratch.data() + scratch_n * w, partials.data() + part * ti);
  }, p.threads);

  // Merge the chunks of each sequence in order, per (KV head, row): m = max m_c, l = Σ l_c 2^{m_c − m},
  // O = Σ O_c 2^{m_c − m} / l  (flash-decoding's exact combination; m in the log2 domain). Every
  // (sequence, KV head, row) is independent: merged in parallel (serial, it cost ~5 % of a
  // 2-thread token at L = 65536).
  std::vector<std::size_t> first(p.seqs.size() + 1, tasks.size());  // tasks of sequence s: [first[s], first[s + 1])
  for (std::size_t ti = tasks.size(); ti-- > 0;) first[static_cast<std::size_t>(tasks[ti].seq)] = ti;
  const std::int64_t per_seq = p.g * p.rows(), items = static_cast<std::int64_t>(p.seqs.size()) * per_seq;
  const int merge_workers = pool.workers_for(items, p.threads);
  std::vector<double> accs(static_cast<std::size_t>(p.dv * merge_workers));
  pool.parallel_for(items, [&](std::int64_t item, int w) {
    const std::size_t s = static_cast<std::size_t>(item / per_seq), ti = first[s], tj = first[s + 1];
    const std::int64_t gr = item % per_seq, g = gr / p.rows(), r = gr % p.rows();
    double* acc = accs.data() + static_cast<std::size_t>(p.dv) * static_cast<std::size_t>(w);
    const DecodeSequence& sq = p.seqs[s];
    float m = -INFINITY;
    for (std::size_t c = ti; c < tj; ++c) {
      const float mc = partials[c * static_cast<std::size_t>(part) + static_cast<std::size_t>(gr * (p.dv + 2))];
      m = (mc > m || mc != mc) ? mc : m;
    }
    double l = 0;
    std::fill(acc, acc + p.dv, 0.0);
    if (m != -INFINITY)
      for (std::size_t c = ti; c < tj; ++c) {
        const float* pc = partials.data() + c * static_cast<std::size_t>(part) + gr * (p.dv + 2);
        if (pc[0] == -INFINITY) continue;
        const double wc = std::exp2(static_cast<double>(pc[0]) - m);
        l += wc * pc[1];
        for (std::int64_t k = 0; k < p.dv; ++k) acc[k] += wc * pc[2 + k];
      }
    const std::int64_t h = g * p.group + r / p.t, t = r % p.t;
    const bool empty = l == 0;
    const std::int64_t oo = sq.qrow * p.out.step(0) + t * p.out.step(1) + h * p.out.step(2);
    for (std::int64_t k = 0; k < p.dv; ++k)
      core::store_f32(p.out.data, p.out.dtype, oo + k * p.out.step(3), empty ? 0.0f : static_cast<float>(acc[k] / l));
    if (!p.lse.empty())
      static_cast<float*>(p.lse.data)[sq.qrow * p.lse.step(0) + h * p.lse.step(1) + t * p.lse.step(2)] =
          empty ? -INFINITY : static_cast<float>((m + std::log2(l)) * 0.6931471805599453);
  }, p.threads);
}

}  // namespace
}  // namespace kernels

void decode(const TensorView& q, const KVCache& cache, const TensorView& out, const DecodeOptions& opts, const TensorView& lse) {
  kernels::run_decode(kernels::make_decode_problem(q, cache, out, opts, lse, cache.policy()));
}

void decode(const TensorView& q, const PagedKVCache& cache, const TensorView& out, const DecodeOptions& opts, const TensorView& lse) {
  kernels::run_decode(kernels::make_decode_problem(q, cache, out, opts, lse, EvictionPolicy{}));
}

// The caller's memory as a cache whose tokens are all kept; a sequence of length 0 is an empty slot.
void decode(const TensorView& q, const KVView& kv, const TensorView& out, const DecodeOptions& opts, const TensorView& lse) {
  const kernels::KVViewSource source("decode", kv);
  kernels::run_decode(kernels::make_decode_problem(q, source, out, opts, lse, EvictionPolicy{}, /*empty_slots=*/true));
}

void decode(const TensorView& q, const PagedKVView& kv, const TensorView& out, const DecodeOptions& opts, const TensorView& lse) {
  const kernels::PagedViewSource source("decode", kv);
  kernels::run_decode(kernels::make_decode_problem(q, source, out, opts, lse, EvictionPolicy{}, /*empty_slots=*/true));
}

}  // namespace attend
