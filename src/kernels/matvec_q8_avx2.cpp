// The int8 matvec path on AVX2: per q8_0 block, vpmaddubsw (|w| unsigned times x with w's sign,
// pairs summed to int16: at most 2·128·127 < 2^15, no saturation) and vpmaddwd to int32, then one
// f32 multiply-add by the two scales.
#include <immintrin.h>

#include "core/quant_blocks.h"
#include "kernels/matvec_q8.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// acc + d·(8 int32 partial dots of one block), the block's |w| in aw and its quants in qw.
inline __m256 block(__m256i aw, __m256i qw, const std::int8_t* xq, float d, __m256 acc) {
  const __m256i sx = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq)), qw);  // x·sign(w)
  const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
  return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
}

float scale_of(std::uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

template <int R>
void rows(const MatvecWeights& w, const Q8Activations& x, float* y, I64 o0, I64 o1) {
  const I64 I = w.cols, O = w.rows, nb = I / quant::kQK;
  for (I64 o = o0; o < o1; ++o) {
    const auto* b = static_cast<const quant::BlockQ8_0*>(w.row(o));
    __m256 acc0[R], acc1[R];  // even and odd blocks: two chains of FMAs in flight
    for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (I64 k = 0; k < nb; k += 2) {
      const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k].qs)), a0 = _mm256_abs_epi8(q0);
      const float d0 = scale_of(b[k].d);
      for (int r = 0; r < R; ++r) acc0[r] = block(a0, q0, x.q + r * I + k * quant::kQK, d0 * x.d[r * nb + k], acc0[r]);
      if (k + 1 == nb) break;
      const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k + 1].qs)), a1 = _mm256_abs_epi8(q1);
      const float d1 = scale_of(b[k + 1].d);
      for (int r = 0; r < R; ++r) acc1[r] = block(a1, q1, x.q + r * I + (k + 1) * quant::kQK, d1 * x.d[r * nb + k + 1], acc1[r]);
    }
    for (int r = 0; r < R; ++r) y[r * O + o] += hsum(_mm256_add_ps(acc0[r], acc1[r]));
  }
}

}  // namespace

// y: [R, O] += x: [R, I] (int8 blocks) · W[o0:o1, :]ᵀ, W: [O, I] q8_0
void matvec_q8_rows_avx2(const MatvecWeights& w, const Q8Activations& x, I64 R, float* y, I64 o0, I64 o1) {
  switch (R) {
    case 1: return rows<1>(w, x, y, o0, o1);
    case 2: return rows<2>(w, x, y, o0, o1);
    case 3: return rows<3>(w, x, y, o0, o1);
    default: return rows<4>(w, x, y, o0, o1);
  }
}

}  // namespace attend::kernels
