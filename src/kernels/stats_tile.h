#pragma once
// Streaming RowStats (attend/capture.h) folded into the forward kernel's softmax pass, per query
// row and key tile. The softmax already computes e_j = 2^(s_j − m') for every lane; this header
// adds a few vector ops per lane on top of it (no second exp, no scalar loop over the keys) and
// keeps its sums lane-wise in the row's scratch across tiles (no horizontal reduction per tile):
//   T ← α·(T + (m − m')·l) + Σ_j e_j·(s_j − m')   (Σ e·(s − m'), relative to the running max)
//   D ← α·D + Σ_j e_j·|i' − j|                     (mean attended distance: D / l)
//   K ← α·K + Σ_{j < sink} e_j                      (sink mass: K / l)
//   argmax: the first j reaching the running max m   (max weight: 2^(m − m) / l = 1 / l)
// with s in log2 units, m' the new running max, α = 2^(m − m'), l the softmax sum before this tile
// (forward_impl.h). At the end H = lse − Σ p·s = ln2 · (log2 l − T / l).
// Usage, per row and tile: StatsTile<Simd> st(stats, …); in the softmax loop `if (stats) st.add(d, e, j)`;
// after it st.finish(weights). Per row: stats_row_init before the first tile, stats_row_finish after the last.
#include <cmath>
#include <cstdint>

#include "attend/capture.h"
#include "kernels/forward_plan.h"

namespace attend::kernels {
namespace {

// Layout of a row's ForwardScratch::kStatsAcc floats: lanes of T, lanes of D, K, argmax.
constexpr int kStatsT = 0, kStatsD = 16, kStatsSink = 32, kStatsArg = 33;
static_assert(kStatsArg < ForwardScratch::kStatsAcc, "stats accumulators must fit the scratch row");

inline void stats_row_init(float* acc) {
  for (int a = 0; a < ForwardScratch::kStatsAcc; ++a) acc[a] = 0;
  acc[kStatsArg] = -1;
}

template <class Simd>
class StatsTile {
  using V = typename Simd::V;

 public:
  // acc: the row's accumulators; srow: the tile's logits (log2 units, -inf where masked) before the
  // softmax overwrites them; keys [j0, j0 + kn) are real; ip: the query's position in key
  // coordinates; tile_max = max_j srow[j]; m_old, l_old: running max and sum before this tile
  // (m_old = -inf, l_old = 0 before the first visible tile); alpha = 2^(m_old − m_new).
  StatsTile(bool on, float* acc, const float* srow, std::int64_t kn, std::int64_t j0, std::int64_t ip, float tile_max,
            float m_old, float m_new, float l_old, float alpha, int sink_tokens)
      : on_(on), acc_(acc), kn_(kn), j0_(j0), sink_(sink_tokens) {
    if (!on) return;
    // T + (m − m')·l spread evenly over the lanes (÷ W is exact), then everything scaled by α.
    const float shift = l_old > 0 ? (m_old - m_new) * l_old / static_cast<float>(Simd::W) : 0.0f;
    const V av = Simd::set1(alpha);
    es_ = Simd::mul(Simd::add(Simd::load(acc + kStatsT), Simd::set1(shift)), av);
    ed_ = Simd::mul(Simd::load(acc + kStatsD), av);
    acc[kStatsSink] *= alpha;
    if (tile_max > m_old) {  // first key reaching the new maximum (ties keep the earliest j)
      std::int64_t j = 0;
      while (j < kn && !(srow[j] == tile_max)) ++j;
      acc[kStatsArg] = static_cast<float>(j0 + j);
    }
    alignas(64) static constexpr float kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static_assert(Simd::W <= 16, "kIota and the accumulator lanes cover at most 16 lanes");
    dist0_ = Simd::add(Simd::load(kIota), Simd::set1(static_cast<float>(j0 - ip)));  // j − i' of lanes 0..W−1
  }

  // One vector of the softmax pass: d = s − m' (−inf on masked lanes), e = 2^d; j: lane offset.
  void add(V d, V e, std::int64_t j) {
    // The clamp keeps e·d finite where e = 0 (masked lanes: 0·(−inf) would be NaN); there e < 2^-200.
    es_ = Simd::fma(e, Simd::max(d, Simd::set1(-200.0f)), es_);  // Σ e·(s − m')
    const V x = Simd::add(dist0_, Simd::set1(static_cast<float>(j)));
    ed_ = Simd::fma(e, Simd::max(x, Simd::sub(Simd::zero(), x)), ed_);  // Σ e·|j − i'|
  }

  // erow: the tile's weights e_j after the pass (before dropout), read only for the sink keys.
  void finish(const float* erow) {
    if (!on_) return;
    Simd::store(acc_ + kStatsT, es_);
    Simd::store(acc_ + kStatsD, ed_);
    for (std::int64_t j = 0; j < kn_ && j0_ + j < sink_; ++j) acc_[kStatsSink] += erow[j];
  }

 private:
  bool on_;
  float* acc_;
  std::int64_t kn_, j0_;
  int sink_;
  V dist0_ = Simd::zero(), es_ = Simd::zero(), ed_ = Simd::zero();
};

// The row's RowStats from its accumulators; lse (natural) and l, the final softmax sum.
template <class Simd>
RowStats stats_row_finish(const float* acc, float lse, float l, std::int64_t visible) {
  constexpr float kLn2f = 0.6931471805599453f;
  RowStats st;
  st.visible = static_cast<std::int32_t>(visible);
  st.lse = lse;
  if (!(l > 0)) return st;  // no visible key: entropy 0, argmax −1
  const float inv = 1.0f / l;
  st.entropy = kLn2f * (std::log2(l) - Simd::reduce_add(Simd::load(acc + kStatsT)) * inv);
  st.mean_distance = Simd::reduce_add(Simd::load(acc + kStatsD)) * inv;
  st.sink_mass = acc[kStatsSink] * inv;
  st.max_weight = inv;  // the maximal logit has e = 2^(m − m) = 1
  st.argmax = static_cast<std::int32_t>(acc[kStatsArg]);
  return st;
}

}  // namespace
}  // namespace attend::kernels
