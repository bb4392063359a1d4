// attend::attention_backward: validation, planning and dispatch of the fast backward kernel.
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

// Scratch from the calling thread's cache (core/scratch_cache.h): repeated calls reuse mapped pages.
using Scratch = core::ScratchFloats;

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

}  // namespace

void backward(const BackwardProblem& b, BackwardSplit split) {
  const Problem& p = b.fwd;
  const std::int64_t T = BackwardScratch::kTile;
  std::vector<BackwardTask> units;  // one per (sequence, KV head), all keys
  std::int64_t max_nq = 0;
  for (std::size_t s = 0; s < p.seqs.size(); ++s) {
    max_nq = std::max(max_nq, p.seqs[s].nq);
    for (std::int64_t g = 0; g < p.hkv; ++g) units.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(g), 0, p.seqs[s].nk});
  }
  core::ThreadPool& pool = core::global_pool();
  const bool dq_f32 = b.dq.dtype == DType::f32;
  const std::int64_t qb = p.q.dim(0), qrows = p.q.dim(1), hq = p.q.dim(2);
  const auto dq_floats = static_cast<std::uint64_t>(qb * qrows * hq * p.d);

  // Pick the split. kv_blocks needs one f32 dQ slot per worker: dq itself (f32) plus buffers
  // within kPartialBudget.
  const int threads = pool.workers_for(std::int64_t{1} << 30, p.threads);
  const std::uint64_t buffers_fit = dq_floats == 0 ? 1024 : kPartialBudget / (dq_floats * 4);
  const int slots = static_cast<int>(std::max<std::uint64_t>(1, std::min<std::uint64_t>(threads, (dq_f32 ? 1 : 0) + buffers_fit)));
  bool kv = split == BackwardSplit::kv_blocks;
  if (split == BackwardSplit::automatic)
    kv = !b.deterministic && slots >= 2 && per_head_imbalanced(p, units, threads);

  std::vector<BackwardTask> tasks;
  if (!kv) {
    tasks = units;
  } else {  // cut each (sequence, KV head) into ranges of whole KV blocks, ~8 tasks per slot
    const std::int64_t want = std::max<std::int64_t>(1, (8 * slots + static_cast<std::int64_t>(units.size()) - 1) /
                                                            std::max<std::int64_t>(1, static_cast<std::int64_t>(units.size())));
    for (const BackwardTask& u : units) {
      const std::int64_t blocks = (u.j_end + T - 1) / T, chunks = std::min(want, blocks);
      for (std::int64_t c = 0; c < chunks; ++c)
        tasks.push_back({u.seq, u.kv_head, blocks * c / chunks * T, std::min(u.j_end, blocks * (c + 1) / chunks * T)});
    }
  }

  BackwardScratch layout;
  layout.dp = (p.d + 15) / 16 * 16;
  layout.dvp = (p.dv + 15) / 16 * 16;
  layout.dq_rows = kv || dq_f32 ? 0 : max_nq;  // per_head with f32 dq accumulates in place
  layout.layout(p.group);
  const int workers = pool.workers_for(static_cast<std::int64_t>(tasks.size()), kv ? slots : p.threads);
  Scratch scratch("attention_backward", "the worker scratch", static_cast<std::uint64_t>(layout.total * workers));

  std::vector<std::vector<float>> dbias_parts;  // one per (sequence, KV head)
  if (!b.dbias.empty()) {
    std::uint64_t total = 0;
    for (const BackwardTask& u : units) {
      const Sequence& s = p.seqs[static_cast<std::size_t>(u.seq)];
      total += static_cast<std::uint64_t>(p.group * s.nq * s.nk) * 4;
    }
    core::check_allocation("attention_backward (dbias)", total);
    for (const BackwardTask& u : units) {
      const Sequence& s = p.seqs[static_cast<std::size_t>(u.seq)];
      dbias_parts.emplace_back(static_cast<std::size_t>(p.group * s.nq * s.nk), 0.0f);
    }
  }
  const std::vector<float> dvec = row_terms(b, pool);
  const BackwardRowTerms rt{dvec.data(), hq, qrows};
  const BackwardTaskFn run = active_kernels().backward_task;
  auto unit_of = [&](const BackwardTask& t) {  // index of the task's (sequence, KV head) in units
    return static_cast<std::size_t>(t.seq * p.hkv + t.kv_head);
  };
  auto dq_at = [&](const Sequence& s, std::int64_t g) {  // dq in place: row q0, head g·group
    return static_cast<float*>(b.dq.data) + s.batch * b.dq.step(0) + s.q0 * b.dq.step(1) + g * p.group * b.dq.step(2);
  };

  if (!kv) {
    pool.parallel_for(static_cast<std::int64_t>(tasks.size()), [&](std::int64_t ti, int worker) {
      const BackwardTask& t = tasks[static_cast<std::size_t>(ti)];
      const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
      float* ws = scratch.get() + layout.total * worker;
      DqTarget dq;
      if (dq_f32) dq = {dq_at(s, t.kv_head), b.dq.step(1), b.dq.step(2), b.dq.step(3)};
      else dq = {ws + layout.dq_acc, p.group * layout.dp, layout.dp, 1};
      for (std::int64_t i = 0; i < s.nq; ++i)
        for (std::int64_t hh = 0; hh < p.group; ++hh)
          for (std::int64_t c = 0; c < p.d; ++c) dq.base[i * dq.si + hh * dq.sh + c * dq.sc] = 0;
      float* part = dbias_parts.empty() ? nullptr : dbias_parts[unit_of(t)].data();
      run(b, layout, rt, t, dq, ws, part);
      if (!dq_f32)
        for (std::int64_t i = 0; i < s.nq; ++i)
          for (std::int64_t hh = 0; hh < p.group; ++hh) {
            const std::int64_t o = s.batch * b.dq.step(0) + (s.q0 + i) * b.dq.step(1) + (t.kv_head * p.group + hh) * b.dq.step(2);
            for (std::int64_t c = 0; c < p.d; ++c) core::store_f32(b.dq.data, b.dq.dtype, o + c * b.dq.step(3), dq.base[i * dq.si + hh * dq.sh + c]);
          }
    }, p.threads);
  } else {
    // Slot w: dq itself for w = 0 when dq is f32, else a dense f32 [B, rows, Hq, D] buffer.
    const int buffers = workers - (dq_f32 ? 1 : 0);
    Scratch partial("attention_backward", "the dQ partial sums", dq_floats * static_cast<std::uint64_t>(buffers));
    std::fill(partial.get(), partial.get() + dq_floats * static_cast<std::uint64_t>(buffers), 0.0f);
    auto for_each_dq_row = [&](auto&& fn) {  // fn(dq offset, dense [B, rows, Hq, D] offset) per (b, i, h), parallel over rows
      pool.parallel_for(qb * qrows, [&](std::int64_t row, int) {
        const std::int64_t a = row / qrows, i = row % qrows;
        for (std::int64_t h = 0; h < hq; ++h)
          fn(a * b.dq.step(0) + i * b.dq.step(1) + h * b.dq.step(2), (row * hq + h) * p.d);
      }, p.threads);
    };
    if (dq_f32)
      for_each_dq_row([&](std::int64_t o, std::int64_t) {
        for (std::int64_t c = 0; c < p.d; ++c) static_cast<float*>(b.dq.data)[o + c * b.dq.step(3)] = 0;
      });
    // Tasks go to slots statically (task ti → slot ti mod workers, in task order), so each slot's dQ
    // sums in a fixed order: bitwise repeatable run to run for a given thread count.
    pool.parallel_for(workers, [&](std::int64_t slot, int) {
      for (std::size_t ti = static_cast<std::size_t>(slot); ti < tasks.size(); ti += static_cast<std::size_t>(workers)) {
        const BackwardTask& t = tasks[ti];
        const Sequence& s = p.seqs[static_cast<std::size_t>(t.seq)];
        DqTarget dq;
        if (dq_f32 && slot == 0) {
          dq = {dq_at(s, t.kv_head), b.dq.step(1), b.dq.step(2), b.dq.step(3)};
        } else {
          float* buf = partial.get() + dq_floats * static_cast<std::uint64_t>(slot - (dq_f32 ? 1 : 0));
          dq = {buf + ((s.batch * qrows + s.q0) * hq + t.kv_head * p.group) * p.d, hq * p.d, p.d, 1};
        }
        float* part = dbias_parts.empty() ? nullptr : dbias_parts[unit_of(t)].data();
        run(b, layout, rt, t, dq, scratch.get() + layout.total * slot, part);
      }
    }, workers);
    // dq = slot 0 + slot 1 + … in slot order.
    for_each_dq_row([&](std::int64_t o, std::int64_t e) {
      for (std::int64_t c = 0; c < p.d; ++c) {
        float sum = dq_f32 ? static_cast<float*>(b.dq.data)[o + c * b.dq.step(3)] : 0.0f;
        for (int w = 0; w < buffers; ++w) sum += partial.get()[dq_floats * static_cast<std::uint64_t>(w) + static_cast<std::uint64_t>(e + c)];
        core::store_f32(b.dq.data, b.dq.dtype, o + c * b.dq.step(3), sum);
      }
    });
  }
  zero_padding_keys(b);
  if (!b.dbias.empty()) reduce_dbias(b, units, dbias_parts);
}

}  // namespace kernels

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts) {
  kernels::backward(kernels::make_backward_problem("attention_backward", q, k, v, out, dout, lse, grads, opts));
}

}  // namespace attend
