#pragma once
// The decode kernel body over SIMD traits `Simd` (compiled per ISA by decode_{scalar,avx2,avx512}.cpp).
//
// One task = (sequence, chunk of cached tokens) for every KV head g, with the group's query rows r
// (head g·group + r / T, token r % T):
//   s_rj = modify(scale · q_r·k_j) (masked by position → -inf)
//   m_r, l_r, O_r: online softmax over the chunk (O_r = Σ_j e^{s_rj − m_r} v_j, l_r = Σ_j e^{s_rj − m_r})
// Each cached key/value row is converted once and used by every query row of its group
// (decode is bandwidth-bound: the group shares one read of K and V).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/decode_plan.h"
#include "kernels/tile_io.h"

namespace attend::kernels {
namespace {

constexpr std::int64_t kDecodeBlock = 16;  // keys per softmax update (a multiple of every W)
constexpr std::int64_t kDecodeRows = 4;    // query rows per register block (K/V loaded once per 4 rows)

// Scores of rows [r0, r0 + R) against the block's n keys: Sc[r][j] = q_r·k_j (Q pre-scaled).
template <class Simd, int R>
void block_scores(const float* Q, const float* Kb, float* Sc, std::int64_t r0, std::int64_t n, std::int64_t dp) {
  using V = typename Simd::V;
  for (std::int64_t j = 0; j < n; ++j) {
    V acc[R];
    for (int i = 0; i < R; ++i) acc[i] = Simd::zero();
    for (std::int64_t c = 0; c < dp; c += Simd::W) {  // one K load feeds R rows
      const V k = Simd::load(Kb + j * dp + c);
      for (int i = 0; i < R; ++i) acc[i] = Simd::fma(Simd::load(Q + (r0 + i) * dp + c), k, acc[i]);
    }
    for (int i = 0; i < R; ++i) Sc[(r0 + i) * kDecodeBlock + j] = Simd::reduce_add(acc[i]);
  }
}

// O_r = O_r·α_r + Σ_j P_rj v_j for rows [r0, r0 + R).
template <class Simd, int R>
void block_pv(float* O, const float* Vb, const float* Sc, const float* alpha, std::int64_t r0, std::int64_t n,
              std::int64_t dvp) {
  using V = typename Simd::V;
  for (std::int64_t c = 0; c < dvp; c += Simd::W) {
    V o[R];
    for (int i = 0; i < R; ++i) o[i] = Simd::mul(Simd::load(O + (r0 + i) * dvp + c), Simd::set1(alpha[r0 + i]));
    for (std::int64_t j = 0; j < n; ++j) {  // one V load feeds R rows
      const V v = Simd::load(Vb + j * dvp + c);
      for (int i = 0; i < R; ++i) o[i] = Simd::fma(Simd::set1(Sc[(r0 + i) * kDecodeBlock + j]), v, o[i]);
    }
    for (int i = 0; i < R; ++i) Simd::store(O + (r0 + i) * dvp + c, o[i]);
  }
}

// Q rows of the task's sequence (pre-scaled, zero-padded to dp), O = 0, m = −inf, l = 0, for every
// (KV head g, row r) at index g·M + r.
template <class Simd>
void decode_init_rows(const DecodeProblem& p, const DecodeSequence& sq, float qscale, std::int64_t dp, std::int64_t dvp,
                      float* Q, float* O, float* Mx, float* Ls) {
  const std::int64_t M = p.rows();
  for (std::int64_t r = 0; r < p.g * M; ++r) {
    const std::int64_t g = r / M, rr = r % M, h = g * p.group + rr / p.t, t = rr % p.t;
    const std::int64_t off = sq.qrow * p.q.step(0) + t * p.q.step(1) + h * p.q.step(2);
    std::memset(Q + r * dp, 0, static_cast<std::size_t>(dp) * 4);
    load_row<Simd>(p.q.data, p.q.dtype, off, p.q.step(3), p.d, Q + r * dp);
    for (std::int64_t c = 0; c < p.d; ++c) Q[r * dp + c] *= qscale;
    std::memset(O + r * dvp, 0, static_cast<std::size_t>(dvp) * 4);
    Mx[r] = -INFINITY;
    Ls[r] = 0;
  }
}

// Online-softmax update of KV head g's M rows for a block of n ≤ kDecodeBlock keys at positions
// pos_a, pos_a + 1, ...: Sc[r][j] (raw scores, log2 domain unless modifiers) becomes
// P_rj = 2^(s_rj − m_new) (0 for masked and padded keys), Al[r] = 2^(m_old − m_new), l and m updated.
template <class Simd>
void block_softmax(const DecodeProblem& p, const DecodeSequence& sq, std::int64_t g, std::int64_t pos_a, std::int64_t n,
                   bool all_visible, bool modifiers, float* Sc, float* Mg, float* Lg, float* Al) {
  using V = typename Simd::V;
  const float log2e = 1.4426950408889634f;
  for (std::int64_t r = 0; r < p.rows(); ++r) {
    const std::int64_t h = g * p.group + r / p.t, t = r % p.t;
    float* srow = Sc + r * kDecodeBlock;
    if (!all_visible || modifiers) {
      const std::int64_t qpos = p.query_pos(sq.len, t);
      const KeyRange vr = p.visible(sq.len, t);  // the forward's range mask (logit.h)
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t pos = pos_a + j;
        float s = srow[j];
        if (pos < vr.lo || pos >= vr.hi || !p.evict.keeps(pos, sq.len)) s = -INFINITY;
        else if (modifiers) s = p.modify(s, 0, h, t, qpos, pos) * log2e;  // soft-cap, ALiBi (no bias)
        srow[j] = s;
      }
    }
    for (std::int64_t j = n; j < kDecodeBlock; ++j) srow[j] = -INFINITY;  // padded keys weigh 0
    V vmax = Simd::load(srow);
    for (std::int64_t c = Simd::W; c < kDecodeBlock; c += Simd::W) vmax = Simd::max(vmax, Simd::load(srow + c));
    const float bmax = Simd::reduce_max(vmax);  // a NaN score may be lost here but comes back through P
    const float m_old = Mg[r], m_new = bmax > m_old ? bmax : m_old;
    if (m_new == -INFINITY) {  // nothing visible yet for this row: P = 0, O unchanged
      bool nan = false;        // (unless a score is NaN: then so is the row, as in the reference)
      for (std::int64_t j = 0; j < n; ++j) nan = nan || srow[j] != srow[j];
      if (nan) {
        Mg[r] = NAN;
        Lg[r] = NAN;
      }
      Al[r] = nan ? NAN : 1.0f;
      for (std::int64_t j = 0; j < kDecodeBlock; ++j) srow[j] = nan ? NAN : 0.0f;
      continue;
    }
    // P = 2^(s − m_new), vectorised (exp is the costly part of the softmax); NaN scores give NaN P.
    const V mv = Simd::set1(m_new);
    V vsum = Simd::zero();
    for (std::int64_t c = 0; c < kDecodeBlock; c += Simd::W) {
      const V e = Simd::exp2(Simd::sub(Simd::load(srow + c), mv));
      Simd::store(srow + c, e);
      vsum = Simd::add(vsum, e);
    }
    Al[r] = m_old == m_new ? 1.0f : std::exp2(m_old - m_new);  // skip the libm call when the max holds
    Lg[r] = Lg[r] * Al[r] + Simd::reduce_add(vsum);
    Mg[r] = m_new;
  }
}

// partial = [G·M][m (log2 domain), l, O(dv)].
inline void decode_write_partial(const DecodeProblem& p, std::int64_t dvp, const float* O, const float* Mx, const float* Ls,
                                 float* partial) {
  for (std::int64_t r = 0; r < p.g * p.rows(); ++r) {
    float* out = partial + r * (p.dv + 2);
    out[0] = Mx[r];
    out[1] = Ls[r];
    std::memcpy(out + 2, O + r * dvp, static_cast<std::size_t>(p.dv) * 4);
  }
}

// One task's scratch (sized by decode_scratch_floats), carved in this order: Q [G·M, dp] pre-scaled,
// O [G·M, dvp], running max and sum [G·M] each, block rescale factors [M], scores [M, kDecodeBlock],
// then the portable body's staged K [kDecodeBlock, dp] and V [kDecodeBlock, dvp] blocks.
struct DecodeScratch {
  float *q, *o, *mx, *ls, *al, *sc, *kb, *vb;
};

inline DecodeScratch carve_decode_scratch(const DecodeProblem& p, std::int64_t dp, std::int64_t dvp, float* scratch) {
  const std::int64_t M = p.rows(), G = p.g;
  DecodeScratch s;
  s.q = scratch;
  s.o = s.q + G * M * dp;
  s.mx = s.o + G * M * dvp;
  s.ls = s.mx + G * M;
  s.al = s.ls + G * M;
  s.sc = s.al + M;
  s.kb = s.sc + M * kDecodeBlock;
  s.vb = s.kb + kDecodeBlock * dp;
  return s;
}

// The factor folded into Q: the scale, times log2 e when no logit modifier needs natural units.
inline float decode_qscale(const DecodeProblem& p) {
  return p.has_modifiers() ? p.scale : p.scale * 1.4426950408889634f;
}

template <class Simd>
void decode_task_impl(const DecodeProblem& p, const DecodeTask& task, float* scratch, float* partial) {
  const DecodeSequence& sq = p.seqs[static_cast<std::size_t>(task.seq)];
  const std::int64_t M = p.rows(), G = p.g, d = p.d, dv = p.dv, dp = (d + 15) / 16 * 16, dvp = (dv + 15) / 16 * 16;
  const DecodeScratch scr = carve_decode_scratch(p, dp, dvp, scratch);
  float *Q = scr.q, *O = scr.o, *Mx = scr.mx, *Ls = scr.ls, *Al = scr.al, *Sc = scr.sc, *Kb = scr.kb, *Vb = scr.vb;
  const bool modifiers = p.has_modifiers();
  decode_init_rows<Simd>(p, sq, decode_qscale(p), dp, dvp, Q, O, Mx, Ls);
  std::memset(Kb, 0, static_cast<std::size_t>(kDecodeBlock * dp) * 4);
  std::memset(Vb, 0, static_cast<std::size_t>(kDecodeBlock * dvp) * 4);
  const std::size_t es = dtype_size(p.kv_dtype);

  std::int64_t base = 0;  // kept-token index of the current segment's first token
  for (const KVSegment& seg : sq.segs) {
    const std::int64_t lo = imax(task.c0, base), hi = imin(task.c1, base + seg.count);
    for (std::int64_t j0 = lo; j0 < hi; j0 += kDecodeBlock) {
      const std::int64_t n = imin(kDecodeBlock, hi - j0), pos_a = seg.pos0 + (j0 - base);
      const bool all_visible = p.block_visible(sq.len, pos_a, pos_a + n - 1);
      // All heads of this block's tokens in turn: the task walks [chunk, G, D] memory in order.
      for (std::int64_t g = 0; g < G; ++g) {
        const float* Qg = Q + g * M * dp;
        float* Og = O + g * M * dvp;
        // Convert the block's K and V rows of head g once (zero padding keeps padded lanes finite).
        for (std::int64_t j = 0; j < n; ++j) {
          const std::int64_t idx = j0 + j - base;
          load_row<Simd>(static_cast<const char*>(seg.k) + static_cast<std::size_t>(idx * seg.k_stride + g * seg.k_head_stride) * es, p.kv_dtype, 0, 1, d, Kb + j * dp);
          load_row<Simd>(static_cast<const char*>(seg.v) + static_cast<std::size_t>(idx * seg.v_stride + g * seg.v_head_stride) * es, p.kv_dtype, 0, 1, dv, Vb + j * dvp);
        }
        std::int64_t r = 0;
        for (; r + kDecodeRows <= M; r += kDecodeRows) block_scores<Simd, kDecodeRows>(Qg, Kb, Sc, r, n, dp);
        for (; r < M; ++r) block_scores<Simd, 1>(Qg, Kb, Sc, r, n, dp);
        block_softmax<Simd>(p, sq, g, pos_a, n, all_visible, modifiers, Sc, Mx + g * M, Ls + g * M, Al);
        for (r = 0; r + kDecodeRows <= M; r += kDecodeRows) block_pv<Simd, kDecodeRows>(Og, Vb, Sc, Al, r, n, dvp);
        for (; r < M; ++r) block_pv<Simd, 1>(Og, Vb, Sc, Al, r, n, dvp);
      }
    }
    base += seg.count;
  }
  decode_write_partial(p, dvp, O, Mx, Ls, partial);
}

}  // namespace
}  // namespace attend::kernels
