// The AVX512-BF16 forward path (see forward_bf16.h). Per task (sequence, head h, rows [i0, i1)):
//   Q ← q rows as bf16 (unscaled: the scale goes on S in f32, so S is exact up to f32 accumulation)
//   for each key tile [j0, j1) that the mask leaves at least partly visible:
//     S = Q · Kᵀ                        (vdpbf16ps, 6 rows × 64 keys in registers)
//     S ← S · scale · log2 e, masked    (−inf outside the visible range)
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

using S = SimdAvx512;
using V = S::V;
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

// C[r, 0..16·NV) (+)= Σ_k Σ_{e<2} A[r, 2k+e] · B[k, col, e] for r < 6, A as pairs (lda in pairs),
// B pair-interleaved (ldb in bf16 per pair row). 6 × NV accumulators + NV B vectors in registers.
template <int NV, bool Accumulate>
inline void dp_micro(const std::uint16_t* a, std::int64_t lda, std::int64_t kp, const std::uint16_t* b,
                     std::int64_t ldb, float* c, std::int64_t ldc) {
  __m512 acc[kRows][NV];
  for (int r = 0; r < kRows; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = Accumulate ? _mm512_loadu_ps(c + r * ldc + n * 16) : _mm512_setzero_ps();
  for (std::int64_t k = 0; k < kp; ++k) {
    __m512bh bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = (__m512bh)_mm512_loadu_si512(b + k * ldb + n * 32);
    for (int r = 0; r < kRows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair_at(a + (r * lda + k) * 2)));
      for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], av, bv[n]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int n = 0; n < NV; ++n) _mm512_storeu_ps(c + r * ldc + n * 16, acc[r][n]);
}

// C[m × n] (+)= A[m × 2kp] · B over kp pairs; m a multiple of 6, n of 16.
template <bool Accumulate>
void dp_block(const std::uint16_t* a, std::int64_t lda, std::int64_t m, std::int64_t kp, const std::uint16_t* b,
              std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc) {
  for (std::int64_t r = 0; r < m; r += kRows) {
    std::int64_t col = 0;
    for (; col + 64 <= n; col += 64)
      dp_micro<4, Accumulate>(a + r * lda * 2, lda, kp, b + col * 2, ldb, c + r * ldc + col, ldc);
    for (; col + 32 <= n; col += 32)
      dp_micro<2, Accumulate>(a + r * lda * 2, lda, kp, b + col * 2, ldb, c + r * ldc + col, ldc);
    if (col < n) dp_micro<1, Accumulate>(a + r * lda * 2, lda, kp, b + col * 2, ldb, c + r * ldc + col, ldc);
  }
}

}  // namespace

// One key tile [j0, j0 + bk) of KV head u.kv_head into the pair layouts of forward_bf16.h
// (zero-padded: odd d, keys past Nk, columns past dv). Flags a tile whose V holds NaN/Inf.
void forward_pack_bf16_avx512(const Problem& p, const ForwardScratch& L, const ForwardPanels& P, const PackUnit& u) {
  const Sequence& sq = p.seqs[static_cast<std::size_t>(u.seq)];
  const std::int64_t d = p.d, dp = (d + 1) / 2 * 2, dv = p.dv, dvp = L.dvp, bk = L.bk, hk = u.kv_head;
  const std::int64_t kn = imin(bk, sq.nk - u.j0);
  auto* Kp = reinterpret_cast<std::uint16_t*>(P.data + u.tile * P.tile_floats);
  std::uint16_t* Vp = Kp + dp * bk;
  const auto* kin = static_cast<const std::uint16_t*>(p.k.data);
  const auto* vin = static_cast<const std::uint16_t*>(p.v.data);
  bool bad = false;
  for (std::int64_t j = 0; j < bk; ++j) {
    const bool real = j < kn;
    const std::int64_t key = sq.k0 + u.j0 + j;
    const std::int64_t koff = sq.batch * p.k.step(0) + key * p.k.step(1) + hk * p.k.step(2);
    const std::int64_t voff = sq.batch * p.v.step(0) + key * p.v.step(1) + hk * p.v.step(2);
    // Kp[c/2][j][c%2] = K[j][c]
    for (std::int64_t c = 0; c < dp; ++c)
      Kp[(c >> 1) * bk * 2 + j * 2 + (c & 1)] = real && c < d ? kin[koff + c * p.k.step(3)] : std::uint16_t{0};
    // Vp[j/2][c][j%2] = V[j][c]
    std::uint16_t* vrow = Vp + (j >> 1) * dvp * 2 + (j & 1);
    for (std::int64_t c = 0; c < dvp; ++c) {
      const std::uint16_t x = real && c < dv ? vin[voff + c * p.v.step(3)] : std::uint16_t{0};
      vrow[c * 2] = x;
      bad = bad || bf16_nonfinite(x);
    }
  }
  P.nonfinite[u.tile] = bad ? 1 : 0;
}

// scratch regions (ForwardScratch with bf16_weights): q holds Q as bf16 [rows_p, dp], s the f32
// logits, pb P as bf16 [rows_p, bk], o/m/l as in the f32 path. Capture is never requested here.
void forward_task_bf16_avx512(const Problem& p, const ForwardScratch& L, const ForwardPanels& P, const ForwardTask& t,
                              float* scratch, bool, int, RowStats*) {
  const Sequence& sq = p.seqs[static_cast<std::size_t>(t.seq)];
  const std::int64_t h = t.head, hk = p.kv_head(h);
  const std::int64_t rows = t.i1 - t.i0, rows_p = (rows + kRows - 1) / kRows * kRows;
  const std::int64_t d = p.d, dp = (d + 1) / 2 * 2, dv = p.dv, dvp = L.dvp, bk = L.bk;
  const std::int64_t tile0 = P.group_tile0[t.seq * p.hkv + hk - P.g0];
  auto* Q = reinterpret_cast<std::uint16_t*>(scratch + L.q);
  auto* Pb = reinterpret_cast<std::uint16_t*>(scratch + L.pb);
  float *Sx = scratch + L.s, *O = scratch + L.o, *M = scratch + L.m, *Lsum = scratch + L.l;
  const auto* qin = static_cast<const std::uint16_t*>(p.q.data);

  for (std::int64_t r = 0; r < rows_p; ++r) {
    const std::int64_t off = sq.batch * p.q.step(0) + (sq.q0 + t.i0 + r) * p.q.step(1) + h * p.q.step(2);
    for (std::int64_t c = 0; c < dp; ++c)
      Q[r * dp + c] = r < rows && c < d ? qin[off + c * p.q.step(3)] : std::uint16_t{0};
    M[r] = kNegInf;
    Lsum[r] = 0;
    for (std::int64_t c = 0; c < dvp; ++c) O[r * dvp + c] = 0;
    for (std::int64_t j = 0; j < bk; ++j) Pb[r * bk + j] = 0;  // padding rows stay zero
  }

  const KeyRange first = p.visible(t.i0, sq), last = p.visible(t.i1 - 1, sq);
  const std::int64_t jlo = imax(0, first.lo), jhi = imin(sq.nk, last.hi);
  const V cv = S::set1(p.scale * kLog2e);  // logits to the log2 domain, in f32

  for (std::int64_t j0 = jlo < jhi ? jlo / bk * bk : jhi; j0 < jhi; j0 += bk) {
    const std::int64_t kn = imin(bk, jhi - j0);
    const std::int64_t tile = tile0 + j0 / bk;
    const auto* Kp = reinterpret_cast<const std::uint16_t*>(P.data + tile * P.tile_floats);
    const std::uint16_t* Vp = Kp + dp * bk;
    const bool full = kn == bk && p.tile_fully_visible(t.i0, t.i1, j0, j0 + kn, sq);
    // Diagonal tiles: each 6-row group multiplies only up to the last key its last row sees (as the
    // f32 path; the masked scaling below writes −inf past it).
    auto group_keys = [&](std::int64_t r) {
      return imax(0, imin(kn, p.visible(imin(t.i0 + r + kRows, t.i1) - 1, sq).hi - j0));
    };
    // S = Q · Kᵀ  (d/2 pair steps; every S row a contiguous run of bk keys)
    if (full) dp_block<false>(Q, dp / 2, rows_p, dp / 2, Kp, bk * 2, bk, Sx, bk);
    else
      for (std::int64_t r = 0; r < rows_p; r += kRows) {
        const std::int64_t n = (group_keys(r) + 15) / 16 * 16;
        if (n > 0) dp_block<false>(Q + r * dp, dp / 2, kRows, dp / 2, Kp, bk * 2, n, Sx + r * bk, bk);
      }

    for (std::int64_t r = 0; r < rows; ++r) {
      float* srow = Sx + r * bk;
      std::uint16_t* prow = Pb + r * bk;
      V mx = S::set1(kNegInf);
      if (full) {
        for (std::int64_t j = 0; j < bk; j += 16) {
          const V x = S::mul(S::load(srow + j), cv);
          S::store(srow + j, x);
          mx = S::max(mx, x);
        }
      } else {
        // Visible keys of this row as tile columns [lo, hi): s = visible ? s · c : −inf, by lane mask
        // (the diagonal tiles of a causal mask are ~1/8 of the work at bk = 128: no scalar loop).
        const KeyRange vr = p.visible(t.i0 + r, sq);
        const __m512i lo = _mm512_set1_epi32(static_cast<int>(imax(0, imin(bk, vr.lo - j0))));
        const __m512i hi = _mm512_set1_epi32(static_cast<int>(imax(0, imin(kn, vr.hi - j0))));
        const V ninf = S::set1(kNegInf);
        __m512i col = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (std::int64_t j = 0; j < bk; j += 16) {
          const __mmask16 in = _mm512_cmpge_epi32_mask(col, lo) & _mm512_cmplt_epi32_mask(col, hi);
          const V x = _mm512_mask_mul_ps(ninf, in, S::load(srow + j), cv);
          S::store(srow + j, x);
          mx = S::max(mx, x);
          col = _mm512_add_epi32(col, _mm512_set1_epi32(16));
        }
      }
      float tile_max = S::reduce_max(mx);
      if (tile_max == kNegInf)  // vector max may drop NaN: recheck (rare: rows with nothing visible)
        for (std::int64_t j = 0; j < bk; ++j)
          if (srow[j] != srow[j]) tile_max = srow[j];
      const float m_old = M[r], m_new = (tile_max > m_old || tile_max != tile_max) ? tile_max : m_old;  // NaN sticks
      if (m_new == kNegInf) {  // nothing visible yet: zero weights
        for (std::int64_t j = 0; j < bk; ++j) prow[j] = 0;
        continue;
      }
      const float alpha = std::exp2(m_old - m_new);  // 0 on the first visible tile
      const V mv = S::set1(m_new);
      V sum = S::zero();
      for (std::int64_t j = 0; j < bk; j += 16) {
        const V e = S::exp2(S::sub(S::load(srow + j), mv));
        sum = S::add(sum, e);  // l sums the f32 weights (as FlashAttention); P·V uses them rounded
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(prow + j), (__m256i)_mm512_cvtneps_pbh(e));  // RNE
      }
      Lsum[r] = Lsum[r] * alpha + S::reduce_add(sum);
      M[r] = m_new;
      if (alpha != 1.0f) {
        const V av = S::set1(alpha);
        for (std::int64_t c = 0; c < dvp; c += 16) S::store(O + r * dvp + c, S::mul(S::load(O + r * dvp + c), av));
      }
    }
    // O += P · V over the ⌈kn/2⌉ key pairs (a padded key has P = 0 and V = 0).
    if (P.nonfinite[tile]) {  // rare: skip zero weights so 0 · NaN stays out of rows that ignore the key
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < kn; ++j) {
          const float w = bf16_to_f32(Pb[r * bk + j]);
          if (w == 0.0f) continue;
          const std::uint16_t* vcol = Vp + (j >> 1) * dvp * 2 + (j & 1);
          for (std::int64_t c = 0; c < dv; ++c) O[r * dvp + c] += w * bf16_to_f32(vcol[c * 2]);
        }
    } else {
      if (full) dp_block<true>(Pb, bk / 2, rows_p, (kn + 1) / 2, Vp, dvp * 2, dvp, O, dvp);
      else
        for (std::int64_t r = 0; r < rows_p; r += kRows) {  // keys past group_keys have P = 0 in the group
          const std::int64_t kp = (group_keys(r) + 1) / 2;
          if (kp > 0) dp_block<true>(Pb + r * bk, bk / 2, kRows, kp, Vp, dvp * 2, dvp, O + r * dvp, dvp);
        }
    }
  }

  // Finish: out = O / l, lse = (m + log2 l) · ln 2 (as the f32 path).
  float* lse_rows = scratch + L.lse;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = t.i0 + r;
    const bool empty = Lsum[r] == 0;  // NaN is not empty: a NaN logit makes the row NaN
    const float inv = empty ? 0.0f : 1.0f / Lsum[r];
    const float lse = empty ? kNegInf : (M[r] + std::log2(Lsum[r])) * kLn2;
    lse_rows[r] = lse;
    const float* orow = O + r * dvp;
    const std::int64_t ooff = sq.batch * p.out.step(0) + (sq.q0 + i) * p.out.step(1) + h * p.out.step(2);
    for (std::int64_t c = 0; c < dv; ++c)
      core::store_f32(p.out.data, p.out.dtype, ooff + c * p.out.step(3), orow[c] * inv);
    if (!p.lse.empty())
      static_cast<float*>(p.lse.data)[sq.batch * p.lse.step(0) + h * p.lse.step(1) + (sq.q0 + i) * p.lse.step(2)] = lse;
  }
}

}  // namespace attend::kernels
