// attend::attention_backward: the fast backward in named steps.
//   plan_backward        the strategy (kv_block_split_pays: the rule and its measurements) and the tasks
//   row_terms            D_i = dO_i · O_i for every row, once
//   run_per_head         one task per (sequence, KV head); or
//   run_kv_block_split   KV-block ranges whose dQ shares go to per-slot partials, then reduce_dq
//   zero_padding_keys, reduce_dbias
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "attend/backward.h"
#include "core/check.h"
#include "core/element.h"
#include "core/memory.h"
#include "core/scratch_cache.h"
#include "core/thread_pool.h"
#include "kernels/backward_plan.h"
#include "kernels/dispatch.h"

namespace attend {
namespace kernels {
namespace {

// Bytes the kv_blocks split may spend on dQ partial buffers beyond dq itself.
constexpr std::uint64_t kPartialBudget = 64ull << 20;

// D_i = Σ_c dout_ic · out_ic for every row: [B, Hq, rows] (rows = q.dim(1)), in parallel over (b, h).
std::vector<float> row_terms(const BackwardProblem& b, core::ThreadPool& pool) {
  const Problem& p = b.fwd;
  const std::int64_t batch = p.q.dim(0), rows = p.q.dim(1), heads = p.q.dim(2);
  std::vector<float> dvec(static_cast<std::size_t>(batch * heads * rows));
  pool.parallel_for(batch * heads, [&](std::int64_t bh, int) {
    const std::int64_t a = bh / heads, h = bh % heads;
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::int64_t oo = a * p.out.step(0) + i * p.out.step(1) + h * p.out.step(2);
      const std::int64_t go = a * b.dout.step(0) + i * b.dout.step(1) + h * b.dout.step(2);
      float sum = 0;  // D_i = dO_i · O_i
      for (std::int64_t c = 0; c < p.dv; ++c)
        sum += core::load_f32(b.dout.data, b.dout.dtype, go + c * b.dout.step(3)) *
               core::load_f32(p.out.data, p.out.dtype, oo + c * p.out.step(3));
      dvec[static_cast<std::size_t>(bh * rows + i)] = sum;
    }
  }, p.threads);
  return dvec;
}

// Visible (query, key) pairs of a sequence: the work of one (sequence, KV head) task.
double unit_work(const Problem& p, const Sequence& s) {
  double w = 0;
  for (std::int64_t i = 0; i < s.nq; ++i) {
    const KeyRange r = p.visible(i, s);
    w += static_cast<double>(std::max<std::int64_t>(0, r.hi - r.lo));
  }
  return w;
}

// Would one task per (sequence, KV head) leave workers idle? Simulates the pool's dynamic
// hand-out (each task to the first free worker) and compares the finish with an even split.
bool per_head_imbalanced(const Problem& p, const std::vector<BackwardTask>& units, int workers) {
  std::vector<double> load(static_cast<std::size_t>(workers), 0.0);
  double total = 0;
  for (const BackwardTask& u : units) {
    const double w = unit_work(p, p.seqs[static_cast<std::size_t>(u.seq)]);
    *std::min_element(load.begin(), load.end()) += w;
    total += w;
  }
  return total > 0 && *std::max_element(load.begin(), load.end()) > 1.1 * total / workers;
}

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

// ---- plan: the strategy and the tasks -----------------------------------------------------------

// The work split of one call (the two strategies are described in backward_plan.h).
struct BackwardPlan {
  bool kv_blocks = false;
  std::vector<BackwardTask> units;  // one per (sequence, KV head) with all its keys; index seq·Hkv + kv head
  std::vector<BackwardTask> tasks;  // what the workers run: the units, or ranges of their KV blocks
  int slots = 1;                    // kv_blocks: dQ accumulators (dq itself when f32, then partial buffers)
  int workers = 1;                  // workers of the task loop (kv_blocks: one per slot)
  BackwardScratch layout;
};

// The strategy rule. per_head when the caller asks for determinism, when fewer than two dQ slots
// fit kPartialBudget, or when one task per (sequence, KV head) keeps every worker busy: then it is
// as fast as the split and its results do not depend on the thread count (measured D = 128,
// N = 4096, H = 8, 2 threads: 336.8 GFLOP/s automatic, 344.1 deterministic). kv_blocks otherwise:
// with H = 1 on 2 threads one task per head runs on one thread and the split is 1.6–1.8x faster
// (bench/RESULTS.md, "Backward"). "Busy" allows 10 % of imbalance (a judgement, not measured).
bool kv_block_split_pays(const BackwardProblem& b, const std::vector<BackwardTask>& units, int threads, int slots) {
  return !b.deterministic && slots >= 2 && per_head_imbalanced(b.fwd, units, threads);
}

std::uint64_t dq_floats(const BackwardProblem& b) {  // a dense f32 [B, rows, Hq, D] dQ buffer
  const Problem& p = b.fwd;
  return static_cast<std::uint64_t>(p.q.dim(0) * p.q.dim(1) * p.q.dim(2) * p.d);
}

BackwardPlan plan_backward(const BackwardProblem& b, BackwardSplit split, const core::ThreadPool& pool) {
  const Problem& p = b.fwd;
  const std::int64_t T = BackwardScratch::kTile;
  BackwardPlan plan;
  std::int64_t max_nq = 0;
  for (std::size_t s = 0; s < p.seqs.size(); ++s) {
    max_nq = std::max(max_nq, p.seqs[s].nq);
    for (std::int64_t g = 0; g < p.hkv; ++g)
      plan.units.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(g), 0, p.seqs[s].nk});
  }
  // kv_blocks needs one f32 dQ slot per worker: dq itself (when f32) plus buffers within kPartialBudget.
  const bool dq_f32 = b.dq.dtype == DType::f32;
  const int threads = pool.workers_for(std::int64_t{1} << 30, p.threads);
  const std::uint64_t dqn = dq_floats(b);
  const std::uint64_t buffers_fit = dqn == 0 ? 1024 : kPartialBudget / (dqn * 4);
  plan.slots = static_cast<int>(std::max<std::uint64_t>(1, std::min<std::uint64_t>(threads, (dq_f32 ? 1 : 0) + buffers_fit)));
  plan.kv_blocks = split == BackwardSplit::kv_blocks ||
                   (split == BackwardSplit::automatic && kv_block_split_pays(b, plan.units, threads, plan.slots));

  if (!plan.kv_blocks) {
    plan.tasks = plan.units;
  } else {  // cut each (sequence, KV head) into ranges of whole KV blocks, ~8 tasks per slot
    const auto nunits = static_cast<std::int64_t>(plan.units.size());
    const std::int64_t want = std::max<std::int64_t>(1, (8 * plan.slots + nunits - 1) / std::max<std::int64_t>(1, nunits));
    for (const BackwardTask& u : plan.units) {
      const std::int64_t blocks = (u.j_end + T - 1) / T, chunks = std::min(want, blocks);
      for (std::int64_t c = 0; c < chunks; ++c)
        plan.tasks.push_back({u.seq, u.kv_head, blocks * c / chunks * T, std::min(u.j_end, blocks * (c + 1) / chunks * T)});
    }
  }
  plan.layout.dp = (p.d + 15) / 16 * 16;
  plan.layout.dvp = (p.dv + 15) / 16 * 16;
  plan.layout.dq_rows = plan.kv_blocks || dq_f32 ? 0 : max_nq;  // per_head with f32 dq accumulates in place
  plan.layout.layout(p.group);
  plan.workers = pool.workers_for(static_cast<std::int64_t>(plan.tasks.size()), plan.kv_blocks ? plan.slots : p.threads);
  return plan;
}

// What every task of a call reads or adds into besides its own scratch.
struct BackwardRun {
  const BackwardProblem& b;
  const BackwardPlan& plan;
  BackwardRowTerms rt;                       // D_i per row
  BackwardTaskFn task;                       // the path's kernel body
  float* scratch;                            // plan.workers × plan.layout.total floats
  std::vector<std::vector<float>>& dbias;    // empty, or one [group, nq, nk] per unit

  float* dbias_of(const BackwardTask& t) const {
    return dbias.empty() ? nullptr : dbias[static_cast<std::size_t>(t.seq * b.fwd.hkv + t.kv_head)].data();
  }
  // The task's dQ rows in dq itself (f32): row q0 of its sequence, head kv_head · group.
  DqTarget dq_in_place(const BackwardTask& t) const {
    const Sequence& s = b.fwd.seqs[static_cast<std::size_t>(t.seq)];
    float* base = static_cast<float*>(b.dq.data) + s.batch * b.dq.step(0) + s.q0 * b.dq.step(1) + t.kv_head * b.fwd.group * b.dq.step(2);
    return {base, b.dq.step(1), b.dq.step(2), b.dq.step(3)};
  }
};

// fn(dq offset, offset in a dense [B, rows, Hq, D] buffer) for every (b, i, h), parallel over rows.
template <class Fn>
void for_each_dq_row(const BackwardProblem& b, core::ThreadPool& pool, Fn&& fn) {
  const Problem& p = b.fwd;
  const std::int64_t qb = p.q.dim(0), qrows = p.q.dim(1), hq = p.q.dim(2);
  pool.parallel_for(qb * qrows, [&](std::int64_t row, int) {
    const std::int64_t a = row / qrows, i = row % qrows;
    for (std::int64_t h = 0; h < hq; ++h) fn(a * b.dq.step(0) + i * b.dq.step(1) + h * b.dq.step(2), (row * hq + h) * p.d);
  }, p.threads);
}

// ---- per_head: one task per (sequence, KV head), nothing shared ---------------------------------

void run_per_head(const BackwardRun& r, core::ThreadPool& pool) {
  const BackwardProblem& b = r.b;
  const Problem& p = b.fwd;
  const BackwardScratch& layout = r.plan.layout;
  const bool dq_f32 = b.dq.dtype == DType::f32;
  pool.parallel_for(static_cast<std::int64_t>(r.plan.tasks.size()), [&](std::int64_t ti, int worker) {
    const BackwardTask& t = r.plan.tasks[static_cast<std::size_t>(ti)];
    const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
    float* ws = r.scratch + layout.total * worker;
    // dQ straight into dq when it is f32, else into the task's f32 rows, converted at the end.
    const DqTarget dq = dq_f32 ? r.dq_in_place(t) : DqTarget{ws + layout.dq_acc, p.group * layout.dp, layout.dp, 1};
    for (std::int64_t i = 0; i < s.nq; ++i)
      for (std::int64_t hh = 0; hh < p.group; ++hh)
        for (std::int64_t c = 0; c < p.d; ++c) dq.base[i * dq.si + hh * dq.sh + c * dq.sc] = 0;
    r.task(b, layout, r.rt, t, dq, ws, r.dbias_of(t));
    if (!dq_f32)
      for (std::int64_t i = 0; i < s.nq; ++i)
        for (std::int64_t hh = 0; hh < p.group; ++hh) {
          const std::int64_t o = s.batch * b.dq.step(0) + (s.q0 + i) * b.dq.step(1) + (t.kv_head * p.group + hh) * b.dq.step(2);
          for (std::int64_t c = 0; c < p.d; ++c) core::store_f32(b.dq.data, b.dq.dtype, o + c * b.dq.step(3), dq.base[i * dq.si + hh * dq.sh + c]);
        }
  }, p.threads);
}

// ---- kv_blocks: KV-block ranges, dQ shares summed through per-slot partials ---------------------

// dq = slot 0 + slot 1 + … in slot order (slot 0 is dq itself when f32): a fixed order, so the
// result depends only on which tasks each slot ran, never on timing.
void reduce_dq(const BackwardProblem& b, const float* partial, int buffers, core::ThreadPool& pool) {
  const bool dq_f32 = b.dq.dtype == DType::f32;
  const std::uint64_t dqn = dq_floats(b);
  const std::int64_t d = b.fwd.d;
  for_each_dq_row(b, pool, [&](std::int64_t o, std::int64_t e) {
    for (std::int64_t c = 0; c < d; ++c) {
      float sum = dq_f32 ? static_cast<float*>(b.dq.data)[o + c * b.dq.step(3)] : 0.0f;
      for (int w = 0; w < buffers; ++w) sum += partial[dqn * static_cast<std::uint64_t>(w) + static_cast<std::uint64_t>(e + c)];
      core::store_f32(b.dq.data, b.dq.dtype, o + c * b.dq.step(3), sum);
    }
  });
}

void run_kv_block_split(const BackwardRun& r, core::ThreadPool& pool) {
  const BackwardProblem& b = r.b;
  const Problem& p = b.fwd;
  const bool dq_f32 = b.dq.dtype == DType::f32;
  const std::int64_t qrows = p.q.dim(1), hq = p.q.dim(2);
  const std::uint64_t dqn = dq_floats(b);
  const int workers = r.plan.workers;
  // Slot w: dq itself for w = 0 when dq is f32, else a dense f32 [B, rows, Hq, D] buffer.
  const int buffers = workers - (dq_f32 ? 1 : 0);
  core::ScratchFloats partial("attention_backward", "the dQ partial sums", dqn * static_cast<std::uint64_t>(buffers));
  std::fill(partial.get(), partial.get() + dqn * static_cast<std::uint64_t>(buffers), 0.0f);
  if (dq_f32)
    for_each_dq_row(b, pool, [&](std::int64_t o, std::int64_t) {
      for (std::int64_t c = 0; c < p.d; ++c) static_cast<float*>(b.dq.data)[o + c * b.dq.step(3)] = 0;
    });
  // Tasks go to slots statically (task ti → slot ti mod workers, in task order), so each slot's dQ
  // sums in a fixed order: bitwise repeatable run to run for a given thread count.
  pool.parallel_for(workers, [&](std::int64_t slot, int) {
    for (std::size_t ti = static_cast<std::size_t>(slot); ti < r.plan.tasks.size(); ti += static_cast<std::size_t>(workers)) {
      const BackwardTask& t = r.plan.tasks[ti];
      const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
      DqTarget dq;
      if (dq_f32 && slot == 0) {
        dq = r.dq_in_place(t);
      } else {
        float* buf = partial.get() + dqn * static_cast<std::uint64_t>(slot - (dq_f32 ? 1 : 0));
        dq = {buf + ((s.batch * qrows + s.q0) * hq + t.kv_head * p.group) * p.d, hq * p.d, p.d, 1};
      }
      r.task(b, r.plan.layout, r.rt, t, dq, r.scratch + r.plan.layout.total * slot, r.dbias_of(t));
    }
  }, workers);
  reduce_dq(b, partial.get(), buffers, pool);
}

// One f32 [group, nq, nk] dS buffer per (sequence, KV head) when the caller asked for dbias.
std::vector<std::vector<float>> dbias_buffers(const BackwardProblem& b, const std::vector<BackwardTask>& units) {
  std::vector<std::vector<float>> parts;
  if (b.dbias.empty()) return parts;
  const Problem& p = b.fwd;
  std::uint64_t total = 0;
  for (const BackwardTask& u : units) {
    const Sequence& s = p.seqs[static_cast<std::size_t>(u.seq)];
    total += static_cast<std::uint64_t>(p.group * s.nq * s.nk) * 4;
  }
  core::check_allocation("attention_backward (dbias)", total);
  for (const BackwardTask& u : units) {
    const Sequence& s = p.seqs[static_cast<std::size_t>(u.seq)];
    parts.emplace_back(static_cast<std::size_t>(p.group * s.nq * s.nk), 0.0f);
  }
  return parts;
}

}  // namespace

void backward(const BackwardProblem& b, BackwardSplit split) {
  const BackwardTaskFn task = active_kernels().backward_task;  // the path, chosen once for the whole call
  core::ThreadPool& pool = core::global_pool();
  const BackwardPlan plan = plan_backward(b, split, pool);
  core::ScratchFloats scratch("attention_backward", "the worker scratch", static_cast<std::uint64_t>(plan.layout.total * plan.workers));
  std::vector<std::vector<float>> dbias = dbias_buffers(b, plan.units);
  const std::vector<float> dvec = row_terms(b, pool);
  const BackwardRun run{b, plan, {dvec.data(), b.fwd.q.dim(2), b.fwd.q.dim(1)}, task, scratch.get(), dbias};
  if (plan.kv_blocks) run_kv_block_split(run, pool);
  else run_per_head(run, pool);
  zero_padding_keys(b);
  if (!b.dbias.empty()) reduce_dbias(b, plan.units, dbias);
}

}  // namespace kernels

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts) {
  kernels::backward(kernels::make_backward_problem("attention_backward", q, k, v, out, dout, lse, grads, opts));
}

}  // namespace attend
