// attend::attention_backward: validation, planning and dispatch of the fast backward kernel.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "attend/backward.h"
#include "attend/runtime.h"
#include "core/check.h"
#include "core/element.h"
#include "core/memory.h"
#include "core/thread_pool.h"
#include "kernels/backward_plan.h"

namespace attend {
namespace kernels {
namespace {

BackwardTaskFn pick_backward(Isa isa) {
  switch (isa) {
    case Isa::avx512: return backward_task_avx512;
    case Isa::avx2: return backward_task_avx2;
    case Isa::scalar: return backward_task_scalar;
  }
  return backward_task_scalar;
}

struct AlignedFree { void operator()(float* p) const { std::free(p); } };

// Keys a padded batch does not use get zero gradients (the tasks only see each sequence's keys).
void zero_padding_keys(const BackwardProblem& b) {
  const Problem& p = b.fwd;
  if (p.packed) return;
  for (const Sequence& s : p.seqs)
    for (std::int64_t j = s.nk; j < p.k.dim(1); ++j)
      for (std::int64_t g = 0; g < p.hkv; ++g) {
        const std::int64_t ko = s.batch * b.dk.step(0) + j * b.dk.step(1) + g * b.dk.step(2);
        const std::int64_t vo = s.batch * b.dv.step(0) + j * b.dv.step(1) + g * b.dv.step(2);
        for (std::int64_t c = 0; c < p.d; ++c) core::store_f32(b.dk.data, b.dk.dtype, ko + c * b.dk.step(3), 0.0f);
        for (std::int64_t c = 0; c < p.dv; ++c) core::store_f32(b.dv.data, b.dv.dtype, vo + c * b.dv.step(3), 0.0f);
      }
}

// dbias = Σ over the broadcast dimensions of dS, summed in task order (deterministic).
void reduce_dbias(const BackwardProblem& b, const std::vector<BackwardTask>& tasks, const std::vector<std::vector<float>>& parts) {
  const Problem& p = b.fwd;
  const TensorView& db = b.dbias;
  for (std::int64_t a = 0; a < db.dim(0); ++a)
    for (std::int64_t h = 0; h < db.dim(1); ++h)
      for (std::int64_t i = 0; i < db.dim(2); ++i)
        for (std::int64_t j = 0; j < db.dim(3); ++j) static_cast<float*>(db.data)[a * db.step(0) + h * db.step(1) + i * db.step(2) + j * db.step(3)] = 0;
  for (std::size_t ti = 0; ti < tasks.size(); ++ti) {
    const BackwardTask& t = tasks[ti];
    const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
    const std::int64_t bi = p.packed ? t.seq : s.batch;
    for (std::int64_t hh = 0; hh < p.group; ++hh) {
      const std::int64_t h = t.kv_head * p.group + hh;
      for (std::int64_t i = 0; i < s.nq; ++i)
        for (std::int64_t j = 0; j < s.nk; ++j) {
          const std::int64_t off = (db.dim(0) == 1 ? 0 : bi) * db.step(0) + (db.dim(1) == 1 ? 0 : h) * db.step(1) +
                                   (db.dim(2) == 1 ? 0 : i) * db.step(2) + (db.dim(3) == 1 ? 0 : j) * db.step(3);
          static_cast<float*>(db.data)[off] += parts[ti][static_cast<std::size_t>((hh * s.nq + i) * s.nk + j)];
        }
    }
  }
}

}  // namespace

void backward(const BackwardProblem& b) {
  const Problem& p = b.fwd;
  if (p.d > 1024 || p.dv > 1024)
    detail::fail("attention_backward", "head size D = ", p.d, ", Dv = ", p.dv, " exceeds the supported maximum 1024");
  std::vector<BackwardTask> tasks;
  std::int64_t max_nq = 0;
  for (std::size_t s = 0; s < p.seqs.size(); ++s) {
    max_nq = std::max(max_nq, p.seqs[s].nq);
    for (std::int64_t g = 0; g < p.hkv; ++g) tasks.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(g)});
  }
  BackwardScratch layout;
  layout.dp = (p.d + 15) / 16 * 16;
  layout.dvp = (p.dv + 15) / 16 * 16;
  layout.dq_rows = b.dq.dtype == DType::f32 ? 0 : max_nq;  // f32 dq accumulates in place
  layout.layout(p.group);

  core::ThreadPool& pool = core::global_pool();
  const int workers = pool.workers_for(static_cast<std::int64_t>(tasks.size()), p.threads);
  const auto scratch_bytes = static_cast<std::uint64_t>(layout.total * workers) * sizeof(float);
  core::check_allocation("attention_backward", scratch_bytes);
  std::unique_ptr<float, AlignedFree> scratch(static_cast<float*>(std::aligned_alloc(64, (scratch_bytes + 63) / 64 * 64)));
  if (!scratch) detail::fail("attention_backward", "out of memory for ", workers, " worker scratch buffers");

  std::vector<std::vector<float>> dbias_parts;
  if (!b.dbias.empty()) {
    std::uint64_t total = 0;
    for (const BackwardTask& t : tasks) {
      const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
      total += static_cast<std::uint64_t>(p.group * s.nq * s.nk) * 4;
    }
    core::check_allocation("attention_backward (dbias)", total);
    for (const BackwardTask& t : tasks) {
      const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
      dbias_parts.emplace_back(static_cast<std::size_t>(p.group * s.nq * s.nk), 0.0f);
    }
  }
  const BackwardTaskFn run = pick_backward(active_isa());
  pool.parallel_for(static_cast<std::int64_t>(tasks.size()), [&](std::int64_t ti, int worker) {
    float* part = dbias_parts.empty() ? nullptr : dbias_parts[static_cast<std::size_t>(ti)].data();
    run(b, layout, tasks[static_cast<std::size_t>(ti)], scratch.get() + layout.total * worker, part);
  }, p.threads);
  zero_padding_keys(b);
  if (!b.dbias.empty()) reduce_dbias(b, tasks, dbias_parts);
}

}  // namespace kernels

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts) {
  kernels::backward(kernels::make_backward_problem("attention_backward", q, k, v, out, dout, lse, grads, opts));
}

}  // namespace attend
