#pragma once
// How the fast backward splits work: one task per (sequence, KV head) — the task owns dK and dV of
// its keys and dQ of its group's query heads, so nothing is shared between workers and the result
// does not depend on the thread count (bitwise deterministic always).
#include <cstdint>

#include "kernels/backward_problem.h"

namespace attend::kernels {

struct BackwardTask {
  std::int32_t seq = 0;
  std::int32_t kv_head = 0;
};

// Scratch for one worker, in floats, each region 64-byte aligned.
struct BackwardScratch {
  static constexpr std::int64_t kTile = 48;  // query rows and keys per tile: a multiple of the
                                             // micro-kernel's 6 rows and of every vector width
  std::int64_t dp = 0, dvp = 0;              // D and Dv padded to 16
  std::int64_t dq_rows = 0;                  // rows of the f32 dQ accumulator (0: accumulate in dq)
  std::int64_t qs, dout, kt, kr, vt, s, ds, pt, dst, dk, dv, dvec, lse2, dqt, dq_acc, total;

  void layout(std::int64_t group) {
    const std::int64_t t = kTile;
    std::int64_t at = 0;
    auto take = [&](std::int64_t n) { const std::int64_t r = at; at += (n + 15) / 16 * 16; return r; };
    qs = take(t * dp);       // Q tile · scale [t, dp]
    dout = take(t * dvp);    // dO tile [t, dvp]
    kt = take(dp * t);       // Kᵀ [dp, t]
    kr = take(t * dp);       // K rows [t, dp]
    vt = take(dvp * t);      // Vᵀ [dvp, t]
    s = take(t * t);         // S, then P [t, t]
    ds = take(t * t);        // dP, then dS·softcap' [t, t]
    pt = take(t * t);        // Pᵀ (times dropout keep) [t, t]
    dst = take(t * t);       // dSᵀ [t, t]
    dk = take(t * dp);       // dK accumulator of the KV block [t, dp]
    dv = take(t * dvp);      // dV accumulator of the KV block [t, dvp]
    dvec = take(t);          // D_i = dO_i · O_i
    lse2 = take(t);          // lse_i · log2 e (+inf for empty rows, so P = 0)
    dqt = take(t * dp);      // dQ contribution of one tile pair [t, dp]
    dq_acc = take(dq_rows * group * dp);  // f32 dQ of the task when dq is not f32 [nq, group, dp]
    total = at;
  }
};

// Per-ISA body: one task. dbias_task: null, or [group, nq, nk] f32 zero-initialised, receiving dS.
using BackwardTaskFn = void (*)(const BackwardProblem& b, const BackwardScratch& layout, const BackwardTask& t,
                                float* scratch, float* dbias_task);

void backward_task_scalar(const BackwardProblem&, const BackwardScratch&, const BackwardTask&, float*, float*);
void backward_task_avx2(const BackwardProblem&, const BackwardScratch&, const BackwardTask&, float*, float*);
void backward_task_avx512(const BackwardProblem&, const BackwardScratch&, const BackwardTask&, float*, float*);

}  // namespace attend::kernels
