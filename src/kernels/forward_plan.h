#pragma once
// How the fast forward splits work: tasks of (sequence, head, query block) and the per-worker
// scratch layout. Shared by the dispatching code (forward.cpp) and the per-ISA kernel bodies, so
// the ISA translation units need no std containers (their inline code must not leak between
// targets).
#include <algorithm>
#include <cstdint>

#include "attend/capture.h"
#include "kernels/problem.h"

namespace attend::kernels {

struct ForwardTask {
  std::int32_t seq = 0;
  std::int32_t head = 0;
  std::int64_t i0 = 0, i1 = 0;  // local query rows [i0, i1)
};

// K (and, when it cannot be read in place, V) of a batch of (sequence, KV head) groups, packed
// once per key tile and shared by every query block and every query head of the group
// (packing per query block cost as much as a third of the tile products). O(Nk · D) floats.
struct ForwardPanels {
  float* data = nullptr;
  std::int64_t tile_floats = 0;      // per key tile: Kᵀ [d, bk], then V [bk, dvp] when v_packed
  bool v_packed = false;             // false: V is f32, contiguous, dv % 16 == 0: read in place
  std::int64_t g0 = 0;               // first group of the batch (group = seq · hkv + kv head)
  const std::int64_t* group_tile0 = nullptr;  // [groups in batch]: first tile of each group
  unsigned char* nonfinite = nullptr;          // per tile: V holds NaN/Inf (needs the safe P·V)
};

// Rows [i0, i0 + rows) of a task (at most 6: one micro-kernel group) against key tile [j0, j0 + kn)
// of bk keys: which of its keys the group may see. Both kernel bodies walk a tile group by group.
struct TileGroup {
  std::int64_t keys = 0;  // tile keys [0, keys) that some row of the group may see
  bool skip = false;      // no row sees any key of the tile
  bool full = false;      // every row sees every key (a whole tile: no mask)
};
inline TileGroup tile_group(const Problem& p, const Sequence& sq, std::int64_t i0, std::int64_t rows, std::int64_t j0,
                            std::int64_t kn, std::int64_t bk) {
  const KeyRange top = p.visible(i0, sq), bottom = p.visible(i0 + rows - 1, sq);  // ranges are monotone in i
  TileGroup g;
  g.keys = std::max<std::int64_t>(0, std::min(kn, bottom.hi - j0));
  g.skip = g.keys == 0 || top.lo - j0 >= kn;
  g.full = !g.skip && kn == bk && p.tile_fully_visible(i0, i0 + rows, j0, j0 + kn, sq);
  return g;
}

struct PackUnit {
  std::int32_t seq = 0, kv_head = 0;
  std::int64_t j0 = 0;    // first key of the tile
  std::int64_t tile = 0;  // index into the panel buffer
};

// Scratch for one worker, in floats, each region 64-byte aligned.
struct ForwardScratch {
  std::int64_t bq = 0, bk = 0, d = 0, dvp = 0;  // tile rows, tile keys, widths (dvp padded to 16)
  bool bf16_weights = false;  // the bf16 path (forward_bf16.h): also a bf16 P block
  std::int64_t thumb_cols = 0;  // capture thumbnails: column bins per row (0: off; kernels/thumb_tile.h)
  std::int64_t q, s, o, m, l, stats_acc, lse, pb, thumb, total;

  static std::int64_t align16(std::int64_t n) { return (n + 15) / 16 * 16; }
  static constexpr int kStatsAcc = 48;  // capture floats per row: 2 × 16 lanes + sink mass + argmax
  static constexpr std::int64_t kRowMultiple = 6;  // the micro-kernel's rows (kMR): blocks pad to it
  // Query rows per task: a multiple of kRowMultiple (64 rows padded to 66 wasted 3 % of the
  // products; measured at N = 4096, D = 128: 60–84 rows within noise of each other, 72 best).
  static constexpr std::int64_t kBlockRows = 72;
  void layout() {
    const std::int64_t bq = (this->bq + kRowMultiple - 1) / kRowMultiple * kRowMultiple;
    std::int64_t at = 0;
    auto take = [&](std::int64_t n) { const std::int64_t r = at; at += align16(n); return r; };
    q = take(bq * d);            // Q block, pre-scaled, row-major [bq, d]
    s = take(kRowMultiple * bk); // one 6-row group's logits, then weights, [6, bk]
    o = take(bq * dvp);          // output accumulator [bq, dvp]
    m = take(bq);                // running max (log2 domain)
    l = take(bq);                // running sum of exp2(s - m)
    stats_acc = take(bq * kStatsAcc);  // capture: per-row sums (kernels/stats_tile.h)
    lse = take(bq);              // per-row natural log-sum-exp, read by the caller for capture
    pb = take(bf16_weights ? kRowMultiple * bk / 2 : 0);  // bf16 path: the group's P as bf16 [6, bk]
    thumb = take(bq * 3 * thumb_cols);  // capture thumbnails: per row [sum | max | ref] × thumb_cols
    total = at;
  }
};

// The per-ISA body: computes one task's rows of out (and lse), and fills scratch.lse; when
// `stats` is set also writes `stats_out[r]` for r < i1 - i0.
using ForwardTaskFn = void (*)(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels,
                               const ForwardTask& t, float* scratch, bool stats, int sink_tokens, RowStats* stats_out);
// Packs one key tile of one group into the panels (and flags non-finite V).
using ForwardPackFn = void (*)(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels,
                               const PackUnit& u);

void forward_task_scalar(const Problem&, const ForwardScratch&, const ForwardPanels&, const ForwardTask&, float*, bool,
                         int, RowStats*);
void forward_task_avx2(const Problem&, const ForwardScratch&, const ForwardPanels&, const ForwardTask&, float*, bool,
                       int, RowStats*);
void forward_task_avx512(const Problem&, const ForwardScratch&, const ForwardPanels&, const ForwardTask&, float*, bool,
                         int, RowStats*);
void forward_pack_scalar(const Problem&, const ForwardScratch&, const ForwardPanels&, const PackUnit&);
void forward_pack_avx2(const Problem&, const ForwardScratch&, const ForwardPanels&, const PackUnit&);
void forward_pack_avx512(const Problem&, const ForwardScratch&, const ForwardPanels&, const PackUnit&);

// 2^x over an array with each path's vector exp2 (for the accuracy tests).
void exp2_array_scalar(const float* x, float* y, std::int64_t n);
void exp2_array_avx2(const float* x, float* y, std::int64_t n);
void exp2_array_avx512(const float* x, float* y, std::int64_t n);

}  // namespace attend::kernels
