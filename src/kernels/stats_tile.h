#pragma once
// Streaming RowStats (attend/capture.h) folded into the forward kernel's softmax pass, per query
// row and key tile. The softmax already computes e_j = 2^(s_j − m') for every lane; this header
// only adds a few vector ops per lane on top of it (no second exp, no scalar loop over the keys):
//   a0 ← a0·α + ln2 · Σ_j e_j·s_j          (entropy: H = lse − a0 / l)
//   a1 ← a1·α + Σ_j e_j·|i' − j|           (mean attended distance: a1 / l)
//   a2 ← a2·α + Σ_{j < sink} e_j           (sink mass: a2 / l)
//   a3, a4 ← running max of s and its first j (max weight: 2^(a3 − m) / l)
// with s in log2 units, m' the new running max, α = 2^(m − m'), l the softmax sum (forward_impl.h).
// Usage inside the row's softmax loop (d = s − m', e = 2^d, j the lane offset of the vector):
//   StatsTile<S> st(stats, acc, srow, ...);  for (...) { ...; if (stats) st.add(d, e, j); }  st.finish(erow);
#include <cstdint>

namespace attend::kernels {
namespace {

template <class S>
class StatsTile {
  using V = typename S::V;

 public:
  // acc: the row's 6 accumulators; srow: the tile's logits (log2 units, -inf where masked) before
  // the softmax overwrites them; keys [j0, j0 + kn) are real; ip: the query's position in key
  // coordinates; tile_max: max_j srow[j]; alpha = 2^(m_old − m_new).
  StatsTile(bool on, float* acc, const float* srow, std::int64_t kn, std::int64_t j0, std::int64_t ip,
            float tile_max, float m_new, float alpha, int sink_tokens)
      : on_(on), acc_(acc), kn_(kn), j0_(j0), m_new_(m_new), sink_(sink_tokens) {
    if (!on) return;
    acc[0] *= alpha; acc[1] *= alpha; acc[2] *= alpha;
    if (tile_max > acc[3]) {  // first key reaching the new maximum (ties keep the earliest j)
      std::int64_t j = 0;
      while (j < kn && !(srow[j] == tile_max)) ++j;
      acc[3] = tile_max;
      acc[4] = static_cast<float>(j0 + j);
    }
    alignas(64) static constexpr float kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static_assert(S::W <= 16, "kIota covers at most 16 lanes");
    dist0_ = S::add(S::load(kIota), S::set1(static_cast<float>(j0 - ip)));  // j − i' of lane 0..W−1
  }

  // One vector of the softmax pass: d = s − m' (−inf on masked lanes), e = 2^d; j: lane offset.
  void add(V d, V e, std::int64_t j) {
    // Clamp keeps e·d finite where e = 0 (masked lanes: 0·(−inf) would be NaN); e < 2^-200 there.
    es_ = S::fma(e, S::max(d, S::set1(-200.0f)), es_);  // Σ e·(s − m')
    esum_ = S::add(esum_, e);                             // Σ e
    const V x = S::add(dist0_, S::set1(static_cast<float>(j)));
    ed_ = S::fma(e, S::max(x, S::sub(S::zero(), x)), ed_);  // Σ e·|j − i'|
  }

  // erow: the tile's weights e_j after the pass (before dropout), for the few sink keys.
  void finish(const float* erow) {
    if (!on_) return;
    constexpr float kLn2 = 0.6931471805599453f;
    const float esum = S::reduce_add(esum_);
    acc_[0] += kLn2 * (S::reduce_add(es_) + m_new_ * esum);  // Σ e·s = Σ e·(s − m') + m'·Σ e
    acc_[1] += S::reduce_add(ed_);
    for (std::int64_t j = 0; j < kn_ && j0_ + j < sink_; ++j) acc_[2] += erow[j];
  }

 private:
  bool on_;
  float* acc_;
  std::int64_t kn_, j0_;
  float m_new_;
  int sink_;
  V dist0_ = S::zero(), es_ = S::zero(), esum_ = S::zero(), ed_ = S::zero();
};

}  // namespace
}  // namespace attend::kernels
