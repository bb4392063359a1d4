// The AVX512-BF16 forward path (see forward_bf16.h). Per task (sequence, head h, rows [i0, i1)):
//   Q ← q rows as bf16 (unscaled: the scale goes on S in f32, so S is exact up to f32 accumulation)
//   for each key tile [j0, j1) that the mask leaves at least partly visible, and each 6-row group:
//     S = Q · Kᵀ · scale · log2 e, masked  (vdpbf16ps, 6 rows × 64 keys in registers; −inf outside
//                                          the visible range, applied before S leaves the registers)
//     m' = max(m, rowmax S); P = bf16(exp2(S − m')); l = l·2^(m−m') + Σ exp2(S − m'); O = O·2^(m−m') + P·V
//   out = O / l,  lse = (m + log2 l) · ln 2
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/forward_bf16.h"
#include "kernels/simd/avx512.h"
#include "kernels/tile_io.h"

namespace attend::kernels {
namespace {

using Simd = SimdAvx512;
using V = Simd::V;
constexpr int kRows = 6;  // micro-kernel rows (ForwardScratch pads blocks to a multiple of this)
static_assert(ForwardScratch::kRowMultiple == kRows, "scratch rows must pad to the micro-kernel's rows");
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Two bf16 (one reduction-dim pair) as the 32-bit lane vdpbf16ps multiplies pairwise.
inline std::uint32_t pair_at(const std::uint16_t* p) {
  std::uint32_t x;
  std::memcpy(&x, p, 4);  // one broadcast load after optimisation; memcpy keeps aliasing legal
  return x;
}

inline bool bf16_nonfinite(std::uint16_t x) { return (x & 0x7f80u) == 0x7f80u; }

// acc[r][n] += Σ_k Σ_{e<2} A[r, 2k+e] · B[k, 16n + lane, e] for r < 6: A as pairs (lda in pairs), B
// pair-interleaved (ldb in bf16 per pair row). The inner loop of both micro-kernels below; forced
// inline so the 6 × NV accumulators stay in registers.
template <int NV>
__attribute__((always_inline)) inline void dp_accumulate(__m512 (&acc)[kRows][NV], const std::uint16_t* a,
                                                         std::int64_t lda, std::int64_t kp, const std::uint16_t* b,
                                                         std::int64_t ldb) {
  for (std::int64_t k = 0; k < kp; ++k) {
    __m512bh bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = (__m512bh)_mm512_loadu_si512(b + k * ldb + n * 32);
    for (int r = 0; r < kRows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair_at(a + (r * lda + k) * 2)));
      for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], av, bv[n]);
    }
  }
}

// C[r, 0..16·NV) += A · B (as dp_accumulate) for r < 6, C in f32 with row stride ldc.
template <int NV>
inline void dp_micro(const std::uint16_t* a, std::int64_t lda, std::int64_t kp, const std::uint16_t* b,
                     std::int64_t ldb, float* c, std::int64_t ldc) {
  __m512 acc[kRows][NV];
  for (int r = 0; r < kRows; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_loadu_ps(c + r * ldc + n * 16);
  dp_accumulate<NV>(acc, a, lda, kp, b, ldb);
  for (int r = 0; r < kRows; ++r)
    for (int n = 0; n < NV; ++n) _mm512_storeu_ps(c + r * ldc + n * 16, acc[r][n]);
}

// C[6 × n] += A[6 × 2kp] · B over kp pairs; n a multiple of 16 (the P·V product of a group).
void dp_group(const std::uint16_t* a, std::int64_t lda, std::int64_t kp, const std::uint16_t* b, std::int64_t ldb,
              std::int64_t n, float* c, std::int64_t ldc) {
  std::int64_t col = 0;
  for (; col + 64 <= n; col += 64) dp_micro<4>(a, lda, kp, b + col * 2, ldb, c + col, ldc);
  for (; col + 32 <= n; col += 32) dp_micro<2>(a, lda, kp, b + col * 2, ldb, c + col, ldc);
  if (col < n) dp_micro<1>(a, lda, kp, b + col * 2, ldb, c + col, ldc);
}

// S_g[r, 0..16·NV) = (A_g · B) · c for the 6 rows of a group, written to s (row stride lds) and
// folded into the running row maxima rmax[r]. When Masked, lanes whose column col + lane lies
// outside the row's visible tile columns [lo[r], hi[r]) become −inf. The scale, mask and max ride
// on the accumulators still in registers: no separate pass re-reads S to scale it.
template <int NV, bool Masked>
inline void logits_micro(const std::uint16_t* a, std::int64_t lda, std::int64_t kp, const std::uint16_t* b,
                         std::int64_t ldb, float* s, std::int64_t lds, V cv, std::int64_t col, const std::int32_t* lo,
                         const std::int32_t* hi, V* rmax) {
  __m512 acc[kRows][NV];
  for (int r = 0; r < kRows; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_setzero_ps();
  dp_accumulate<NV>(acc, a, lda, kp, b, ldb);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int r = 0; r < kRows; ++r) {
    V m = rmax[r];
    for (int n = 0; n < NV; ++n) {
      V x = Simd::mul(acc[r][n], cv);
      if constexpr (Masked) {
        const __m512i c = _mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int>(col + n * 16)));
        const __mmask16 in =
            _mm512_cmpge_epi32_mask(c, _mm512_set1_epi32(lo[r])) & _mm512_cmplt_epi32_mask(c, _mm512_set1_epi32(hi[r]));
        x = _mm512_mask_mov_ps(Simd::set1(kNegInf), in, x);
      }
      Simd::store(s + r * lds + n * 16, x);
      m = Simd::max(m, x);
    }
    rmax[r] = m;
  }
}

// S_g[6 × n] = (A_g · B) · c, masked as logits_micro, for n a multiple of 16.
template <bool Masked>
void logits_group(const std::uint16_t* a, std::int64_t lda, std::int64_t kp, const std::uint16_t* b, std::int64_t ldb,
                  std::int64_t n, float* s, std::int64_t lds, V cv, const std::int32_t* lo, const std::int32_t* hi,
                  V* rmax) {
  std::int64_t col = 0;
  for (; col + 64 <= n; col += 64)
    logits_micro<4, Masked>(a, lda, kp, b + col * 2, ldb, s + col, lds, cv, col, lo, hi, rmax);
  for (; col + 32 <= n; col += 32)
    logits_micro<2, Masked>(a, lda, kp, b + col * 2, ldb, s + col, lds, cv, col, lo, hi, rmax);
  if (col < n) logits_micro<1, Masked>(a, lda, kp, b + col * 2, ldb, s + col, lds, cv, col, lo, hi, rmax);
}

}  // namespace

// One key tile [j0, j0 + bk) of KV head u.kv_head into the pair layouts of forward_bf16.h
// (zero-padded: odd d, keys past Nk, columns past dv). Flags a tile whose V holds NaN/Inf.
void forward_pack_bf16_avx512(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels, const PackUnit& u) {
  const Sequence& sq = p.seqs[static_cast<std::size_t>(u.seq)];
  const std::int64_t d = p.d, dp = (d + 1) / 2 * 2, dv = p.dv, dvp = layout.dvp, bk = layout.bk, hk = u.kv_head;
  const std::int64_t kn = imin(bk, sq.nk - u.j0);
  auto* Kp = reinterpret_cast<std::uint16_t*>(panels.data + u.tile * panels.tile_floats);
  std::uint16_t* Vp = Kp + dp * bk;
  const auto* kin = static_cast<const std::uint16_t*>(p.k.data);
  const auto* vin = static_cast<const std::uint16_t*>(p.v.data);
  auto k_row = [&](std::int64_t j) {
    return kin + sq.batch * p.k.step(0) + (sq.k0 + u.j0 + j) * p.k.step(1) + hk * p.k.step(2);
  };
  auto v_row = [&](std::int64_t j) {
    return vin + sq.batch * p.v.step(0) + (sq.k0 + u.j0 + j) * p.v.step(1) + hk * p.v.step(2);
  };

  // Kp[c/2][j][c%2] = K[j][c]: as 32-bit words (one head-dim pair each) Kp is the transpose of
  // K's rows, so whole 16-key × 16-pair blocks go through the 16 × 16 register transpose.
  std::int64_t kfast = 0;  // keys packed by the transpose
  if (p.k.step(3) == 1 && d % 32 == 0) {
    for (; kfast + 16 <= kn; kfast += 16) {
      const float* rows[16];
      for (int j = 0; j < 16; ++j) rows[j] = reinterpret_cast<const float*>(k_row(kfast + j));
      for (std::int64_t c = 0; c < d / 2; c += 16)
        Simd::transpose_block(rows, c, reinterpret_cast<float*>(Kp) + c * bk + kfast, bk);
    }
  }
  for (std::int64_t j = kfast; j < bk; ++j) {
    const bool real = j < kn;
    const std::uint16_t* krow = real ? k_row(j) : nullptr;
    for (std::int64_t c = 0; c < dp; ++c)
      Kp[(c >> 1) * bk * 2 + j * 2 + (c & 1)] = real && c < d ? krow[c * p.k.step(3)] : std::uint16_t{0};
  }

  // Vp[j/2][c][j%2] = V[j][c]: two key rows interleaved 32 columns at a time by vpermt2w.
  bool bad = false;
  std::int64_t vfast = 0;  // keys packed by the interleave (in pairs)
  if (p.v.step(3) == 1 && dv % 32 == 0) {
    alignas(64) static constexpr std::uint16_t kLo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                         8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
    const __m512i lo_idx = _mm512_load_si512(kLo);
    const __m512i hi_idx = _mm512_add_epi16(lo_idx, _mm512_set1_epi16(16));
    const __m512i exp_bits = _mm512_set1_epi16(0x7f80);
    __mmask32 nonfinite = 0;
    for (; vfast + 2 <= kn; vfast += 2) {
      const std::uint16_t *a = v_row(vfast), *b = v_row(vfast + 1);
      std::uint16_t* dst = Vp + (vfast >> 1) * dvp * 2;
      for (std::int64_t c = 0; c < dv; c += 32) {
        const __m512i x = _mm512_loadu_si512(a + c), y = _mm512_loadu_si512(b + c);
        nonfinite |= _mm512_cmpeq_epi16_mask(_mm512_and_si512(x, exp_bits), exp_bits) |
                     _mm512_cmpeq_epi16_mask(_mm512_and_si512(y, exp_bits), exp_bits);
        _mm512_storeu_si512(dst + c * 2, _mm512_permutex2var_epi16(x, lo_idx, y));
        _mm512_storeu_si512(dst + c * 2 + 32, _mm512_permutex2var_epi16(x, hi_idx, y));
      }
      for (std::int64_t c = dv; c < dvp; ++c) dst[c * 2] = dst[c * 2 + 1] = 0;
    }
    bad = nonfinite != 0;
  }
  for (std::int64_t j = vfast; j < bk; ++j) {
    const bool real = j < kn;
    const std::uint16_t* vr = real ? v_row(j) : nullptr;
    std::uint16_t* dst = Vp + (j >> 1) * dvp * 2 + (j & 1);
    for (std::int64_t c = 0; c < dvp; ++c) {
      const std::uint16_t x = real && c < dv ? vr[c * p.v.step(3)] : std::uint16_t{0};
      dst[c * 2] = x;
      bad = bad || bf16_nonfinite(x);
    }
  }
  panels.nonfinite[u.tile] = bad ? 1 : 0;
}

namespace {

// Rows [r0, r0 + 6) of one key tile after their logits: the online-softmax update of M, Lsum and
// O for the group's real rows (gr of them), P as bf16 over the computed columns [0, ncomp).
inline void softmax_group(const float* Sx, std::uint16_t* Pb, std::int64_t bk, std::int64_t ncomp, std::int64_t gr,
                          const V* rmax, float* M, float* Lsum, float* O, std::int64_t dvp) {
  for (std::int64_t r = 0; r < gr; ++r) {
    const float* srow = Sx + r * bk;
    std::uint16_t* prow = Pb + r * bk;
    float tile_max = Simd::reduce_max(rmax[r]);
    if (tile_max == kNegInf)  // vector max may drop NaN: recheck (rare: rows with nothing visible)
      for (std::int64_t j = 0; j < ncomp; ++j)
        if (srow[j] != srow[j]) tile_max = srow[j];
    const float m_old = M[r], m_new = (tile_max > m_old || tile_max != tile_max) ? tile_max : m_old;  // NaN sticks
    if (m_new == kNegInf) {  // nothing visible yet: zero weights
      std::memset(prow, 0, static_cast<std::size_t>(ncomp) * 2);
      continue;
    }
    // 0 on the first visible tile; 1 (exactly exp2(0)) when the max holds, without the libm call.
    const float alpha = m_new == m_old ? 1.0f : std::exp2(m_old - m_new);
    const V mv = Simd::set1(m_new);
    V sum = Simd::zero();
    for (std::int64_t j = 0; j < ncomp; j += 16) {
      const V e = Simd::exp2(Simd::sub(Simd::load(srow + j), mv));
      sum = Simd::add(sum, e);  // l sums the f32 weights (as FlashAttention); P·V uses them rounded
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(prow + j), (__m256i)_mm512_cvtneps_pbh(e));  // RNE
    }
    Lsum[r] = Lsum[r] * alpha + Simd::reduce_add(sum);
    M[r] = m_new;
    if (alpha != 1.0f) {
      const V av = Simd::set1(alpha);
      for (std::int64_t c = 0; c < dvp; c += 16) Simd::store(O + r * dvp + c, Simd::mul(Simd::load(O + r * dvp + c), av));
    }
  }
  for (std::int64_t r = gr; r < kRows; ++r) std::memset(Pb + r * bk, 0, static_cast<std::size_t>(ncomp) * 2);
}

}  // namespace

// scratch regions (ForwardScratch with bf16_weights): q holds Q as bf16 [rows_p, dp]; s and pb hold
// one 6-row group's f32 logits and bf16 weights [6, bk] (so they stay in L1 between the products);
// o/m/l as in the f32 path. Capture is never requested here.
void forward_task_bf16_avx512(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels, const ForwardTask& t,
                              float* scratch, bool, int, RowStats*) {
  const Sequence& sq = p.seqs[static_cast<std::size_t>(t.seq)];
  const std::int64_t h = t.head, hk = p.kv_head(h);
  const std::int64_t rows = t.i1 - t.i0, rows_p = (rows + kRows - 1) / kRows * kRows;
  const std::int64_t d = p.d, dp = (d + 1) / 2 * 2, dv = p.dv, dvp = layout.dvp, bk = layout.bk;
  const std::int64_t tile0 = panels.group_tile0[t.seq * p.hkv + hk - panels.g0];
  auto* Q = reinterpret_cast<std::uint16_t*>(scratch + layout.q);
  auto* Pb = reinterpret_cast<std::uint16_t*>(scratch + layout.pb);
  float *Sx = scratch + layout.s, *O = scratch + layout.o, *M = scratch + layout.m, *Lsum = scratch + layout.l;
  const auto* qin = static_cast<const std::uint16_t*>(p.q.data);

  for (std::int64_t r = 0; r < rows_p; ++r) {
    const std::int64_t off = sq.batch * p.q.step(0) + (sq.q0 + t.i0 + r) * p.q.step(1) + h * p.q.step(2);
    std::int64_t c = 0;
    if (r < rows && p.q.step(3) == 1) {  // a contiguous row: one copy
      std::memcpy(Q + r * dp, qin + off, static_cast<std::size_t>(d) * 2);
      c = d;
    }
    for (; c < dp; ++c) Q[r * dp + c] = r < rows && c < d ? qin[off + c * p.q.step(3)] : std::uint16_t{0};
    M[r] = kNegInf;
    Lsum[r] = 0;
    std::memset(O + r * dvp, 0, static_cast<std::size_t>(dvp) * 4);
  }

  const KeyRange first = p.visible(t.i0, sq), last = p.visible(t.i1 - 1, sq);
  const std::int64_t jlo = imax(0, first.lo), jhi = imin(sq.nk, last.hi);
  const V cv = Simd::set1(p.scale * kLog2e);  // logits to the log2 domain, in f32

  for (std::int64_t j0 = jlo < jhi ? jlo / bk * bk : jhi; j0 < jhi; j0 += bk) {
    const std::int64_t kn = imin(bk, jhi - j0);
    const std::int64_t tile = tile0 + j0 / bk;
    const auto* Kp = reinterpret_cast<const std::uint16_t*>(panels.data + tile * panels.tile_floats);
    const std::uint16_t* Vp = Kp + dp * bk;
    // One 6-row group at a time: its logits (6 × bk f32) and weights stay in L1 from the S
    // product through the softmax to the P·V product, while the K and V tiles are shared by all.
    for (std::int64_t g = 0; g < rows; g += kRows) {
      const std::int64_t gr = imin(kRows, rows - g), gi0 = t.i0 + g;
      const TileGroup tg = tile_group(p, sq, gi0, gr, j0, kn, bk);
      if (tg.skip) continue;  // the whole group is outside this tile
      const std::int64_t keys = tg.keys;
      const bool full = tg.full;
      const std::int64_t ncomp = full ? bk : (keys + 15) / 16 * 16;
      V rmax[kRows];
      for (auto& m : rmax) m = Simd::set1(kNegInf);
      const std::uint16_t* Qg = Q + g * dp;
      if (full) {
        logits_group<false>(Qg, dp / 2, dp / 2, Kp, bk * 2, bk, Sx, bk, cv, nullptr, nullptr, rmax);
      } else {
        std::int32_t lo[kRows], hi[kRows];  // visible tile columns per row (empty for padding rows)
        for (std::int64_t r = 0; r < kRows; ++r) {
          const KeyRange vr = r < gr ? p.visible(gi0 + r, sq) : KeyRange{0, 0};
          lo[r] = static_cast<std::int32_t>(imax(0, imin(bk, vr.lo - j0)));
          hi[r] = static_cast<std::int32_t>(r < gr ? imax(0, imin(kn, vr.hi - j0)) : 0);
        }
        logits_group<true>(Qg, dp / 2, dp / 2, Kp, bk * 2, ncomp, Sx, bk, cv, lo, hi, rmax);
      }
      softmax_group(Sx, Pb, bk, ncomp, gr, rmax, M + g, Lsum + g, O + g * dvp, dvp);

      // O_g += P_g · V over the key pairs the group computed (a padded key has P = 0 and V = 0).
      const std::int64_t kp = full ? bk / 2 : (keys + 1) / 2;
      if (panels.nonfinite[tile]) {  // rare: skip zero weights so 0 · NaN stays out of rows that ignore the key
        for (std::int64_t r = 0; r < gr; ++r)
          for (std::int64_t j = 0; j < imin(kn, ncomp); ++j) {
            const float w = bf16_to_f32(Pb[r * bk + j]);
            if (w == 0.0f) continue;
            const std::uint16_t* vcol = Vp + (j >> 1) * dvp * 2 + (j & 1);
            for (std::int64_t c = 0; c < dv; ++c) O[(g + r) * dvp + c] += w * bf16_to_f32(vcol[c * 2]);
          }
      } else {
        dp_group(Pb, bk / 2, kp, Vp, dvp * 2, dvp, O + g * dvp, dvp);
      }
    }
  }

  // Finish: out = O / l, lse = (m + log2 l) · ln 2 (as the f32 path).
  float* lse_rows = scratch + layout.lse;
  const bool out_bf16_rows = p.out.dtype == DType::bf16 && p.out.step(3) == 1;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = t.i0 + r;
    const bool empty = Lsum[r] == 0;  // NaN is not empty: a NaN logit makes the row NaN
    const float inv = empty ? 0.0f : 1.0f / Lsum[r];
    const float lse = empty ? kNegInf : (M[r] + std::log2(Lsum[r])) * kLn2;
    lse_rows[r] = lse;
    const float* orow = O + r * dvp;
    const std::int64_t ooff = sq.batch * p.out.step(0) + (sq.q0 + i) * p.out.step(1) + h * p.out.step(2);
    std::int64_t c = 0;
    if (out_bf16_rows) {  // a row of bf16 out: 16 values per convert (the scalar store is a call each)
      auto* dst = static_cast<std::uint16_t*>(p.out.data) + ooff;
      const V iv = Simd::set1(inv);
      for (; c + 16 <= dv; c += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c),
                            (__m256i)_mm512_cvtneps_pbh(Simd::mul(Simd::load(orow + c), iv)));
    }
    for (; c < dv; ++c) core::store_f32(p.out.data, p.out.dtype, ooff + c * p.out.step(3), orow[c] * inv);
    if (!p.lse.empty())
      static_cast<float*>(p.lse.data)[sq.batch * p.lse.step(0) + h * p.lse.step(1) + (sq.q0 + i) * p.lse.step(2)] = lse;
  }
}

}  // namespace attend::kernels
