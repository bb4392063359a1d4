#pragma once
// How the fast forward splits work: tasks of (sequence, head, query block) and the per-worker
// scratch layout. Shared by the dispatching code (forward.cpp) and the per-ISA kernel bodies, so
// the ISA translation units need no std containers (their inline code must not leak between
// targets).
#include <cstdint>

#include "attend/capture.h"
#include "kernels/problem.h"

namespace attend::kernels {

struct ForwardTask {
  std::int32_t seq = 0;
  std::int32_t head = 0;
  std::int64_t i0 = 0, i1 = 0;  // local query rows [i0, i1)
};

// Scratch for one worker, in floats, each region 64-byte aligned.
struct ForwardScratch {
  std::int64_t bq = 0, bk = 0, d = 0, dvp = 0;  // tile rows, tile keys, widths (dvp padded to 16)
  std::int64_t q, kt, vp, s, o, m, l, stats_acc, lse, total;

  static std::int64_t align16(std::int64_t n) { return (n + 15) / 16 * 16; }
  static constexpr std::int64_t kRowMultiple = 6;  // the micro-kernel's rows (kMR): blocks pad to it
  void layout() {
    const std::int64_t bq = (this->bq + kRowMultiple - 1) / kRowMultiple * kRowMultiple;
    std::int64_t at = 0;
    auto take = [&](std::int64_t n) { const std::int64_t r = at; at += align16(n); return r; };
    q = take(bq * d);            // Q block, pre-scaled, row-major [bq, d]
    kt = take(d * bk);           // K tile, transposed [d, bk]: S rows are contiguous in j
    vp = take(bk * dvp);         // V tile [bk, dvp], zero-padded columns
    s = take(bq * bk);           // logits, then weights, [bq, bk]
    o = take(bq * dvp);          // output accumulator [bq, dvp]
    m = take(bq);                // running max (log2 domain)
    l = take(bq);                // running sum of exp2(s - m)
    stats_acc = take(bq * 6);    // capture: Σe·s, Σe·dist, Σe on sink, max s, argmax, unused
    lse = take(bq);              // per-row natural log-sum-exp, read by the caller for capture
    total = at;
  }
};

// The per-ISA body: computes one task's rows of out (and lse), and fills scratch.lse; when
// `stats` is set also writes `stats_out[r]` for r < i1 - i0.
using ForwardTaskFn = void (*)(const Problem& p, const ForwardScratch& layout, const ForwardTask& t,
                               float* scratch, bool stats, int sink_tokens, RowStats* stats_out);

void forward_task_scalar(const Problem&, const ForwardScratch&, const ForwardTask&, float*, bool, int, RowStats*);
void forward_task_avx2(const Problem&, const ForwardScratch&, const ForwardTask&, float*, bool, int, RowStats*);
void forward_task_avx512(const Problem&, const ForwardScratch&, const ForwardTask&, float*, bool, int, RowStats*);

}  // namespace attend::kernels
