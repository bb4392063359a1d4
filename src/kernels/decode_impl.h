#pragma once
// The decode kernel body over SIMD traits S (compiled per ISA by decode_{scalar,avx2,avx512}.cpp).
//
// For one (sequence, KV head g, chunk of cached tokens) and the group's query rows r (head
// g·group + r / T, token r % T):
//   s_rj = modify(scale · q_r·k_j) (masked by position → -inf)
//   m_r, l_r, O_r: online softmax over the chunk (O_r = Σ_j e^{s_rj − m_r} v_j, l_r = Σ_j e^{s_rj − m_r})
// Each cached key/value row is converted once and used by every query row of the group
// (decode is bandwidth-bound: the group shares one read of K and V).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/decode_plan.h"
#include "kernels/tile_io.h"

namespace attend::kernels {
namespace {

constexpr std::int64_t kDecodeBlock = 16;  // keys per softmax update

template <class S>
void decode_task_impl(const DecodeProblem& p, const DecodeTask& task, float* scratch, float* partial) {
  using V = typename S::V;
  const DecodeSequence& sq = p.seqs[static_cast<std::size_t>(task.seq)];
  const std::int64_t M = p.rows(), d = p.d, dv = p.dv, dp = (d + 15) / 16 * 16, dvp = (dv + 15) / 16 * 16, g = task.kv_head;
  float* Q = scratch;                       // [M, dp]
  float* O = Q + M * dp;                    // [M, dvp]
  float* Mx = O + M * dvp;                  // [M]
  float* Ls = Mx + M;                       // [M]
  float* Sc = Ls + M;                       // [M, kDecodeBlock]
  float* Kb = Sc + M * kDecodeBlock;        // [kDecodeBlock, dp]
  float* Vb = Kb + kDecodeBlock * dp;       // [kDecodeBlock, dvp]
  const bool modifiers = p.softcap > 0 || p.alibi != nullptr;
  const float log2e = 1.4426950408889634f;
  const float qscale = modifiers ? p.scale : p.scale * log2e;  // log2 domain folded into Q when possible
  for (std::int64_t r = 0; r < M; ++r) {
    const std::int64_t h = g * p.group + r / p.t, t = r % p.t;
    const std::int64_t off = sq.qrow * p.q.step(0) + t * p.q.step(1) + h * p.q.step(2);
    std::memset(Q + r * dp, 0, static_cast<std::size_t>(dp) * 4);
    load_row<S>(p.q.data, p.q.dtype, off, p.q.step(3), d, Q + r * dp);
    for (std::int64_t c = 0; c < d; ++c) Q[r * dp + c] *= qscale;
    std::memset(O + r * dvp, 0, static_cast<std::size_t>(dvp) * 4);
    Mx[r] = -INFINITY;
    Ls[r] = 0;
  }
  std::memset(Kb, 0, static_cast<std::size_t>(kDecodeBlock * dp) * 4);
  std::memset(Vb, 0, static_cast<std::size_t>(kDecodeBlock * dvp) * 4);
  const std::size_t es = dtype_size(p.kv_dtype);

  std::int64_t base = 0;  // kept-token index of the current segment's first token
  for (const KVSegment& seg : sq.segs) {
    const std::int64_t lo = imax(task.c0, base), hi = imin(task.c1, base + seg.count);
    for (std::int64_t j0 = lo; j0 < hi; j0 += kDecodeBlock) {
      const std::int64_t n = imin(kDecodeBlock, hi - j0);
      // Convert the block's K and V rows of head g once (zero padding keeps padded lanes finite).
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t idx = j0 + j - base;
        load_row<S>(static_cast<const char*>(seg.k) + static_cast<std::size_t>(idx * seg.k_stride + g * d) * es, p.kv_dtype, 0, 1, d, Kb + j * dp);
        load_row<S>(static_cast<const char*>(seg.v) + static_cast<std::size_t>(idx * seg.v_stride + g * dv) * es, p.kv_dtype, 0, 1, dv, Vb + j * dvp);
      }
      for (std::int64_t r = 0; r < M; ++r) {
        const std::int64_t h = g * p.group + r / p.t, t = r % p.t;
        float* srow = Sc + r * kDecodeBlock;
        float bmax = -INFINITY;
        for (std::int64_t j = 0; j < n; ++j) {
          V acc = S::zero();
          for (std::int64_t c = 0; c < dp; c += S::W) acc = S::fma(S::load(Q + r * dp + c), S::load(Kb + j * dp + c), acc);
          float s = S::reduce_add(acc);
          const std::int64_t pos = seg.pos0 + (j0 + j - base);
          if (!p.sees(sq.len, t, pos)) {
            s = -INFINITY;
          } else if (modifiers) {
            if (p.softcap > 0) s = p.softcap * std::tanh(s / p.softcap);
            if (p.alibi) s -= p.alibi[h] * static_cast<float>(sq.len - p.t + t - pos);
            s *= log2e;
          }
          srow[j] = s;
          bmax = (s > bmax || s != s) ? s : bmax;
        }
        const float m_old = Mx[r], m_new = (bmax > m_old || bmax != bmax) ? bmax : m_old;
        if (m_new == -INFINITY) continue;  // nothing visible yet for this row
        const float alpha = std::exp2(m_old - m_new);
        float sum = 0;
        for (std::int64_t j = 0; j < n; ++j) sum += (srow[j] = std::exp2(srow[j] - m_new));
        Ls[r] = Ls[r] * alpha + sum;
        Mx[r] = m_new;
        float* orow = O + r * dvp;
        const V av = S::set1(alpha);
        for (std::int64_t c = 0; c < dvp; c += S::W) {  // O = O·α + Σ_j p_j v_j
          V o = S::mul(S::load(orow + c), av);
          for (std::int64_t j = 0; j < n; ++j) o = S::fma(S::set1(srow[j]), S::load(Vb + j * dvp + c), o);
          S::store(orow + c, o);
        }
      }
    }
    base += seg.count;
  }
  for (std::int64_t r = 0; r < M; ++r) {
    float* out = partial + r * (dv + 2);
    out[0] = Mx[r];  // log2 domain
    out[1] = Ls[r];
    std::memcpy(out + 2, O + r * dvp, static_cast<std::size_t>(dv) * 4);
  }
}

}  // namespace
}  // namespace attend::kernels
