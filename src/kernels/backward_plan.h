#pragma once
// How the fast backward splits work. A task is (sequence, KV head, KV block range): it owns dK and
// dV of those keys and adds its share of dQ (its group's query heads) into a DqTarget.
//   per_head:  one task per (sequence, KV head) covering all keys, adding into its own zeroed dQ
//              rows; nothing is shared, so results are bitwise identical for any thread count.
//   kv_blocks: each (sequence, KV head) cut into KV block ranges; dQ shares go into one f32
//              partial buffer per worker (slot), summed in slot order at the end. More parallelism
//              (H = 1, causal, ragged); tasks go to slots statically, so the result is bitwise
//              repeatable for a given thread count but depends on that count.
#include <cstdint>

#include "kernels/backward_problem.h"

namespace attend::kernels {

struct BackwardTask {
  std::int32_t seq = 0;
  std::int32_t kv_head = 0;
  std::int64_t j_begin = 0, j_end = 0;  // keys [j_begin, j_end) of the sequence (local indices)
};

// Where a task adds dQ: f32 element (local row i, head hh of the task's group, column c) is at
// base[i·si + hh·sh + c·sc]. The caller zeroes it first.
struct DqTarget {
  float* base = nullptr;
  std::int64_t si = 0, sh = 0, sc = 1;
};

// D_i = Σ_c dout_ic · out_ic, precomputed once: [B, Hq, rows] f32 dense (rows = q.dim(1)).
struct BackwardRowTerms {
  const float* dvec = nullptr;
  std::int64_t heads = 0, rows = 0;
};

// Scratch for one worker, in floats, each region 64-byte aligned.
struct BackwardScratch {
  static constexpr std::int64_t kTile = 48;  // query rows and keys per tile: a multiple of the
                                             // micro-kernel's 6 rows and of every vector width
  std::int64_t dp = 0, dvp = 0;              // D and Dv padded to 16
  std::int64_t dq_rows = 0;                  // rows of the per-task f32 dQ (per_head, dq not f32)
  std::int64_t qs, dout, kt, kr, vt, s, ds, raw, dk, dv, lse2, dqt, dq_acc, total;

  void layout(std::int64_t group) {
    const std::int64_t t = kTile;
    std::int64_t at = 0;
    auto take = [&](std::int64_t n) { const std::int64_t r = at; at += (n + 15) / 16 * 16; return r; };
    qs = take(t * dp);       // Q tile [t, dp]
    dout = take(t * dvp);    // dO tile [t, dvp]
    kt = take(dp * t);       // (scale·K)ᵀ [dp, t]
    kr = take(t * dp);       // scale·K rows [t, dp]
    vt = take(dvp * t);      // Vᵀ [dvp, t]
    s = take(t * t);         // S, then P [t, t]
    ds = take(t * t);        // dP, then dS·softcap' [t, t]
    raw = take(t * t);       // raw logits for softcap' [t, t]
    dk = take(t * dp);       // dK / scale accumulator of the KV block [t, dp]
    dv = take(t * dvp);      // dV accumulator of the KV block [t, dvp]
    lse2 = take(t);          // lse_i · log2 e (+inf for empty rows, so P = 0)
    dqt = take(t * dp);      // dQ contribution of one tile pair [t, dp]
    dq_acc = take(dq_rows * group * dp);  // f32 dQ of the task when dq is not f32 [nq, group, dp]
    total = at;
  }
};

// Per-ISA body: one task. dbias_task: null, or [group, nq, nk] f32 of the task's (sequence, KV
// head), zero-initialised, receiving dS in the task's key columns.
using BackwardTaskFn = void (*)(const BackwardProblem& b, const BackwardScratch& layout, const BackwardRowTerms& rt,
                                const BackwardTask& t, const DqTarget& dq, float* scratch, float* dbias_task);

void backward_task_scalar(const BackwardProblem&, const BackwardScratch&, const BackwardRowTerms&, const BackwardTask&,
                          const DqTarget&, float*, float*);
void backward_task_avx2(const BackwardProblem&, const BackwardScratch&, const BackwardRowTerms&, const BackwardTask&,
                        const DqTarget&, float*, float*);
void backward_task_avx512(const BackwardProblem&, const BackwardScratch&, const BackwardRowTerms&, const BackwardTask&,
                          const DqTarget&, float*, float*);

enum class BackwardSplit { automatic, per_head, kv_blocks };
// The whole backward; `split` forces a work split (tests), automatic picks (see backward.h).
void backward(const BackwardProblem& b, BackwardSplit split = BackwardSplit::automatic);

}  // namespace attend::kernels
