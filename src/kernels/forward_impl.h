#pragma once
// The fast forward kernel body, written once over SIMD traits `Simd` and compiled per ISA
// (forward_{scalar,avx2,avx512}.cpp). Everything here has internal linkage.
//
// Per task (sequence, head h, query rows [i0, i1)):
//   Q ← q rows · scale (· log2 e when no logit modifiers, so exp2 can be used directly)
//   for each key tile [j0, j1) that the mask leaves at least partly visible, and each 6-row group:
//     S = Q · Kᵀ                           (register-blocked micro-kernel, K packed transposed)
//     S ← modifiers / mask                  (only for tiles that need it)
//     m' = max(m, rowmax S); P = exp2(S − m'); l = l·2^(m−m') + ΣP; O = O·2^(m−m') + P·V
//   out = O / l,  lse = (m + log2 l) · ln 2       (FlashAttention-2: one division at the end)
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/element.h"
#include "kernels/forward_plan.h"
#include "kernels/gemm_tile.h"
#include "kernels/stats_tile.h"
#include "kernels/thumb_tile.h"
#include "kernels/tile_io.h"

namespace attend::kernels {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
static_assert(kMR == ForwardScratch::kRowMultiple, "scratch rows must pad to the micro-kernel's rows");

// 2^x over an array (the accuracy tests call this per ISA).
template <class Simd>
void exp2_array_impl(const float* x, float* y, std::int64_t n) {
  float buf[Simd::W];
  std::int64_t i = 0;
  for (; i + Simd::W <= n; i += Simd::W) Simd::store(y + i, Simd::exp2(Simd::load(x + i)));
  if (i < n) {
    for (int k = 0; k < Simd::W; ++k) buf[k] = i + k < n ? x[i + k] : 0.0f;
    Simd::store(buf, Simd::exp2(Simd::load(buf)));
    for (int k = 0; i + k < n; ++k) y[i + k] = buf[k];
  }
}

// Whether v · 0 is 0 for every element (false when the row holds NaN or ±Inf).
template <class Simd>
bool row_is_finite(const float* x, std::int64_t n) {
  using V = typename Simd::V;
  V acc = Simd::zero();
  std::int64_t c = 0;
  for (; c + Simd::W <= n; c += Simd::W) acc = Simd::add(acc, Simd::mul(Simd::load(x + c), Simd::zero()));
  float tail = Simd::reduce_add(acc);
  for (; c < n; ++c) tail += x[c] * 0.0f;
  return tail == 0;
}

// One key tile [j0, j0 + bk) of KV head u.kv_head: Kᵀ [d, bk] (zero-padded keys keep S finite)
// and, when V cannot be read in place, V [bk, dvp] (zero-padded columns). Flags a tile whose V
// holds NaN/Inf: there 0 · NaN in P · V would poison rows that give the key zero weight.
//   Kᵀ[c, j] = K[j0 + j, c]     transposed Simd::W keys × Simd::W dims at a time (Simd::transpose_block)
template <class Simd>
void forward_pack_impl(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels, const PackUnit& u) {
  constexpr int W = Simd::W;
  const Sequence& sq = p.seqs[static_cast<std::size_t>(u.seq)];
  const std::int64_t d = p.d, dv = p.dv, dvp = layout.dvp, bk = layout.bk, hk = u.kv_head;
  const std::int64_t kn = imin(bk, sq.nk - u.j0);
  float* Kt = panels.data + u.tile * panels.tile_floats;
  float* Vp = Kt + d * bk;
  // f32 rows with unit stride are read in place; others are converted into `stage` (W rows).
  const bool k_in_place = p.k.dtype == DType::f32 && p.k.step(3) == 1;
  alignas(64) float stage[W][kMaxHeadSize];  // D <= kMaxHeadSize (checked by make_logit_spec)
  alignas(64) static const float zeros[kMaxHeadSize] = {};
  auto k_offset = [&](std::int64_t j) { return sq.batch * p.k.step(0) + (sq.k0 + u.j0 + j) * p.k.step(1) + hk * p.k.step(2); };
  for (std::int64_t jb = 0; jb < bk; jb += W) {  // bk is a multiple of 64, so of W
    const float* rows[W];
    for (int j = 0; j < W; ++j) {
      if (jb + j >= kn) rows[j] = zeros;  // padded keys: zero rows
      else if (k_in_place) rows[j] = static_cast<const float*>(p.k.data) + k_offset(jb + j);
      else {
        load_row<Simd>(p.k.data, p.k.dtype, k_offset(jb + j), p.k.step(3), d, stage[j]);
        rows[j] = stage[j];
      }
    }
    std::int64_t c = 0;
    for (; c + W <= d; c += W) Simd::transpose_block(rows, c, Kt + c * bk + jb, bk);
    for (; c < d; ++c)
      for (int j = 0; j < W; ++j) Kt[c * bk + jb + j] = rows[j][c];
  }
  bool bad = false;
  for (std::int64_t j = 0; j < kn; ++j) {
    const std::int64_t voff = sq.batch * p.v.step(0) + (sq.k0 + u.j0 + j) * p.v.step(1) + hk * p.v.step(2);
    const float* vrow;
    if (panels.v_packed) {
      float* dst = Vp + j * dvp;
      load_row<Simd>(p.v.data, p.v.dtype, voff, p.v.step(3), dv, dst);
      for (std::int64_t c = dv; c < dvp; ++c) dst[c] = 0;
      vrow = dst;
    } else {
      vrow = static_cast<const float*>(p.v.data) + voff;  // f32, unit stride: read in place later too
    }
    bad = bad || !row_is_finite<Simd>(vrow, dv);
  }
  if (panels.v_packed)
    for (std::int64_t j = kn; j < bk; ++j)
      for (std::int64_t c = 0; c < dvp; ++c) Vp[j * dvp + c] = 0;
  panels.nonfinite[u.tile] = bad ? 1 : 0;
}

// O[r, :] += Σ_j P[r, j] · V[j, :] skipping zero weights (tiles whose V holds NaN/Inf only).
inline void pv_skip_zero(const float* Pm, std::int64_t ldp, std::int64_t rows, std::int64_t kn, const float* Vt,
                         std::int64_t ldv, std::int64_t n, float* O, std::int64_t ldo) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < kn; ++j) {
      const float w = Pm[r * ldp + j];
      if (w == 0.0f) continue;
      for (std::int64_t c = 0; c < n; ++c) O[r * ldo + c] += w * Vt[j * ldv + c];
    }
}

template <class Simd>
void forward_task_impl(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels, const ForwardTask& t,
                       float* scratch, bool stats, int sink_tokens, RowStats* stats_out) {
  using V = typename Simd::V;
  const Sequence& sq = p.seqs[static_cast<std::size_t>(t.seq)];
  const std::int64_t h = t.head, hk = p.kv_head(h);
  const std::int64_t rows = t.i1 - t.i0, rows_p = (rows + kMR - 1) / kMR * kMR;
  const std::int64_t d = p.d, dv = p.dv, dvp = layout.dvp, bk = layout.bk;
  const std::int64_t group = t.seq * p.hkv + hk;
  const std::int64_t tile0 = panels.group_tile0[group - panels.g0];
  float *Q = scratch + layout.q, *Sx = scratch + layout.s,
        *O = scratch + layout.o, *M = scratch + layout.m, *Lsum = scratch + layout.l, *acc = scratch + layout.stats_acc;
  const bool modifiers = p.has_modifiers();
  // Without modifiers the logits go straight to the log2 domain through Q (one multiply saved per S).
  const float qscale = modifiers ? p.scale : p.scale * kLog2e;
  // Capture thumbnails (kernels/thumb_tile.h): column bins of this sequence's keys, 0 when off.
  const std::int64_t thumb_c = std::min(layout.thumb_cols, sq.nk);
  float* thumbs = scratch + layout.thumb;

  for (std::int64_t r = 0; r < rows_p; ++r) {
    float* qr = Q + r * d;
    if (r < rows) {
      const std::int64_t off = sq.batch * p.q.step(0) + (sq.q0 + t.i0 + r) * p.q.step(1) + h * p.q.step(2);
      load_row<Simd>(p.q.data, p.q.dtype, off, p.q.step(3), d, qr);
      for (std::int64_t c = 0; c < d; ++c) qr[c] *= qscale;
    } else {
      for (std::int64_t c = 0; c < d; ++c) qr[c] = 0;
    }
    M[r] = kNegInf;
    Lsum[r] = 0;
    for (std::int64_t c = 0; c < dvp; ++c) O[r * dvp + c] = 0;
    if (stats) stats_row_init(acc + r * ForwardScratch::kStatsAcc);
    if (thumb_c) thumb_row_init(thumbs + r * 3 * layout.thumb_cols, thumb_c);
  }

  // Keys any row of the block can see: the union of the (monotone) per-row ranges.
  const KeyRange first = p.visible(t.i0, sq), last = p.visible(t.i1 - 1, sq);
  const std::int64_t jlo = imax(0, first.lo), jhi = imin(sq.nk, last.hi);
  const float keep_scale = p.dropout_p > 0 ? 1.0f / (1.0f - p.dropout_p) : 1.0f;

  // Panels are packed at multiples of bk: start at jlo's tile (keys before jlo are masked below).
  for (std::int64_t j0 = jlo < jhi ? jlo / bk * bk : jhi; j0 < jhi; j0 += bk) {
    const std::int64_t kn = imin(bk, jhi - j0);
    const std::int64_t tile = tile0 + j0 / bk;
    const float* Kt = panels.data + tile * panels.tile_floats;
    // V: the packed tile, or the input rows in place (f32, contiguous, dv a multiple of 16).
    const float* Vt = panels.v_packed ? Kt + d * bk
                                 : static_cast<const float*>(p.v.data) + sq.batch * p.v.step(0) +
                                       (sq.k0 + j0) * p.v.step(1) + hk * p.v.step(2);
    const std::int64_t ldv = panels.v_packed ? dvp : p.v.step(1);
    // One kMR-row group at a time: its logits and weights (kMR × bk) stay in L1 from the S product
    // through the softmax to the P·V product, while the K and V tiles are shared by all groups.
    for (std::int64_t g = 0; g < rows; g += kMR) {
      const std::int64_t gr = imin(kMR, rows - g), gi0 = t.i0 + g;
      const TileGroup tg = tile_group(p, sq, gi0, gr, j0, kn, bk);
      if (tg.skip) continue;  // the whole group is outside this tile
      const std::int64_t keys = tg.keys;
      const bool full = tg.full;
      // Diagonal groups (range mask only) multiply only up to the last key their last row sees (S
      // rounded up to whole vectors): about half a causal diagonal tile's work.
      const bool triangular = !full && !modifiers;
      const std::int64_t ncomp = triangular ? (keys + Simd::W - 1) / Simd::W * Simd::W : bk;  // the mask fills [keys, bk)
      // S = Q · Kᵀ  (Kᵀ packed so each S row is a contiguous run of keys)
      gemm_block<Simd, false, true>(Q + g * d, d, kMR, d, Kt, bk, ncomp, Sx, bk);

      // Pass 1, every row of the group: mask (or modifiers), then the row's tile maximum. The rows'
      // max chains are independent, so they overlap instead of each row's softmax waiting on its
      // own reduction (measured +2.3 % at N = 2048 causal, A/B over three process pairs).
      float row_max[kMR];
      for (std::int64_t r = 0; r < gr; ++r) {
        float* srow = Sx + r * bk;
        const std::int64_t i = gi0 + r;
        if (!modifiers && !full) {
          // Only the range mask: the visible tile columns are one run [a, b); −inf elsewhere (two
          // short fills instead of a per-element test: diagonal tiles cost as much as 2 full ones).
          const KeyRange vr = p.visible(i, sq);
          const std::int64_t a = imin(kn, imax(0, vr.lo - j0)), b = imax(a, imin(kn, vr.hi - j0));
          for (std::int64_t j = 0; j < a; ++j) srow[j] = kNegInf;
          for (std::int64_t j = b; j < ncomp; ++j) srow[j] = kNegInf;
        } else if (modifiers) {
          const KeyRange vr = p.visible(i, sq);
          for (std::int64_t j = 0; j < bk; ++j) {
            const std::int64_t jj = j0 + j;
            if (j >= kn || jj < vr.lo || jj >= vr.hi) { srow[j] = kNegInf; continue; }
            srow[j] = p.modify_logit(srow[j], t.seq, h, i, jj, sq) * kLog2e;
          }
        }
        // Over the columns the group computed (the rest are −inf); two chains halve the latency.
        V m0 = Simd::load(srow), m1 = m0;
        std::int64_t j = Simd::W;
        for (; j + Simd::W < ncomp; j += 2 * Simd::W) {
          m0 = Simd::max(m0, Simd::load(srow + j));
          m1 = Simd::max(m1, Simd::load(srow + j + Simd::W));
        }
        if (j < ncomp) m0 = Simd::max(m0, Simd::load(srow + j));
        row_max[r] = Simd::reduce_max(Simd::max(m0, m1));
      }

      // Pass 2, row by row: the online-softmax update.
      for (std::int64_t r = 0; r < gr; ++r) {
        float* srow = Sx + r * bk;
        float* orow = O + (g + r) * dvp;
        float* acc_row = acc + (g + r) * ForwardScratch::kStatsAcc;
        const std::int64_t i = gi0 + r;
        float tile_max = row_max[r];
        if (tile_max == kNegInf)  // vector max may drop NaN: recheck (rare: rows with nothing visible)
          for (std::int64_t j = 0; j < ncomp; ++j)
            if (srow[j] != srow[j]) tile_max = srow[j];
        const float m_old = M[g + r], m_new = (tile_max > m_old || tile_max != tile_max) ? tile_max : m_old;  // NaN sticks
        if (m_new == kNegInf) {  // nothing visible yet: weights are all zero (NaN goes on: it must poison the row)
          for (std::int64_t j = 0; j < ncomp; ++j) srow[j] = 0;
          continue;
        }
        // 0 on the first visible tile; 1 (exactly exp2(0)) when the max holds, without the libm call.
        const float alpha = m_new == m_old ? 1.0f : std::exp2(m_old - m_new);
        StatsTile<Simd> st(stats, acc_row, srow, imin(kn, ncomp), j0, p.query_pos(i, sq), tile_max, m_old, m_new, Lsum[g + r],
                        alpha, sink_tokens);
        const V mv = Simd::set1(m_new);
        V sum = Simd::zero();
        for (std::int64_t j = 0; j < ncomp; j += Simd::W) {
          const V dl = Simd::sub(Simd::load(srow + j), mv), e = Simd::exp2(dl);
          sum = Simd::add(sum, e);
          if (stats) st.add(dl, e, j);  // capture: RowStats folded into this pass (stats_tile.h)
          Simd::store(srow + j, e);
        }
        Lsum[g + r] = Lsum[g + r] * alpha + Simd::reduce_add(sum);
        st.finish(srow);
        if (thumb_c) thumb_add(thumbs + (g + r) * 3 * layout.thumb_cols, thumb_c, srow, imin(kn, ncomp), j0, sq.nk, m_new);
        M[g + r] = m_new;
        if (alpha != 1.0f) {
          const V av = Simd::set1(alpha);
          for (std::int64_t c = 0; c < dvp; c += Simd::W) Simd::store(orow + c, Simd::mul(Simd::load(orow + c), av));
        }
        if (p.dropout_p > 0)
          for (std::int64_t j = 0; j < imin(kn, ncomp); ++j)
            srow[j] = dropout_keep(p.dropout_seed, p.dropout_p, t.seq, h, i, j0 + j) ? srow[j] * keep_scale : 0.0f;
      }
      // O_g += P_g · V over the keys the group may see (padded V rows are never read; the padding
      // rows of the last group get zero weights).
      const std::int64_t npv = triangular ? keys : kn;
      for (std::int64_t r = gr; r < kMR; ++r) std::memset(Sx + r * bk, 0, static_cast<std::size_t>(npv) * 4);
      if (panels.nonfinite[tile]) pv_skip_zero(Sx, bk, gr, npv, Vt, ldv, dv, O + g * dvp, dvp);  // rare: keep 0 · NaN out
      else gemm_block<Simd, true, true>(Sx, bk, kMR, npv, Vt, ldv, dvp, O + g * dvp, dvp);
    }
  }

  // Finish: out = O / l, lse = (m + log2 l) · ln 2.
  float* lse_rows = scratch + layout.lse;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = t.i0 + r;
    const bool empty = Lsum[r] == 0;  // NaN is not empty: a NaN logit makes the row NaN
    const float inv = empty ? 0.0f : 1.0f / Lsum[r];
    const float lse = empty ? kNegInf : (M[r] + std::log2(Lsum[r])) * kLn2;
    lse_rows[r] = lse;
    float* orow = O + r * dvp;
    for (std::int64_t c = 0; c < dv; ++c) orow[c] *= inv;
    const std::int64_t ooff = sq.batch * p.out.step(0) + (sq.q0 + i) * p.out.step(1) + h * p.out.step(2);
    if (p.out.dtype == DType::f32 && p.out.step(3) == 1)
      std::memcpy(static_cast<float*>(p.out.data) + ooff, orow, static_cast<std::size_t>(dv) * 4);
    else
      for (std::int64_t c = 0; c < dv; ++c) core::store_f32(p.out.data, p.out.dtype, ooff + c * p.out.step(3), orow[c]);
    if (!p.lse.empty())
      static_cast<float*>(p.lse.data)[sq.batch * p.lse.step(0) + h * p.lse.step(1) + (sq.q0 + i) * p.lse.step(2)] = lse;
    if (thumb_c) thumb_finish(thumbs + r * 3 * layout.thumb_cols, thumb_c, M[r], Lsum[r]);
    if (stats) {
      const KeyRange vr = p.visible(i, sq);
      stats_out[r] = stats_row_finish<Simd>(acc + r * ForwardScratch::kStatsAcc, lse, Lsum[r], vr.hi > vr.lo ? vr.hi - vr.lo : 0);
    }
  }
}

}  // namespace
}  // namespace attend::kernels
