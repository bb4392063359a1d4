// The int8 matvec path on AVX-512 with VNNI: two q8_0 blocks per 512-bit vector, vpdpbusd for the
// exact int32 dots (|w| as unsigned bytes times x with w's sign), one f32 multiply-add per block.
#include <immintrin.h>

#include "core/quant_blocks.h"
#include "kernels/matvec_q8.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

// Σ over lanes of 16 int32 dots (lanes 0..7: block k, 8..15: block k + 1), scaled per block by
// dw·dx (dd = [dw_k·dx_k, dw_k+1·dx_k+1, ...]) and added onto acc.
inline __m512 block_pair(__m512i aw, __mmask64 neg, __m512i xv, __m128 dd, __m512 acc) {
  const __m512i sx = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);  // x·sign(w): vpdpbusd takes |w| unsigned
  const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sx);        // 4 bytes per lane: 8 lanes per block
  const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512 sc = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(dd));  // scale k on lanes 0..7, k + 1 on 8..15
  return _mm512_fmadd_ps(sc, _mm512_cvtepi32_ps(s), acc);  // |s| < 2^24: converted exactly
}

template <int R>
void rows(const MatvecWeights& w, const Q8Activations& x, float* y, I64 o0, I64 o1) {
  const I64 I = w.cols, O = w.rows, nb = I / quant::kQK;
  for (I64 o = o0; o < o1; ++o) {
    const auto* b = static_cast<const quant::BlockQ8_0*>(w.row(o));
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    I64 k = 0;
    for (; k + 2 <= nb; k += 2) {
      // Blocks are 34 bytes apart: their 32 quant bytes are two loads, joined in one vector.
      const __m512i qw = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k].qs))),
                                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k + 1].qs)), 1);
      const __m512i aw = _mm512_abs_epi8(qw);  // −128 gives 0x80 = 128 unsigned: still |w|
      const __mmask64 neg = _mm512_movepi8_mask(qw);
      const __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128(b[k].d | (static_cast<int>(b[k + 1].d) << 16)));  // both scales in one conversion
      for (int r = 0; r < R; ++r) {
        const __m512i xv = _mm512_loadu_si512(x.q + r * I + k * quant::kQK);
        const __m128 dx = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.d + r * nb + k)));
        acc[r] = block_pair(aw, neg, xv, _mm_mul_ps(dw, dx), acc[r]);
      }
    }
    if (k < nb) {  // an odd last block: the upper half zero (its scale 0 too)
      const __m512i qw = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k].qs)));
      const __m512i aw = _mm512_abs_epi8(qw);
      const __mmask64 neg = _mm512_movepi8_mask(qw);
      const __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128(b[k].d));
      for (int r = 0; r < R; ++r) {
        const __m512i xv = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q + r * I + k * quant::kQK)));
        acc[r] = block_pair(aw, neg, xv, _mm_mul_ps(dw, _mm_load_ss(x.d + r * nb + k)), acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) y[r * O + o] += _mm512_reduce_add_ps(acc[r]);
  }
}

}  // namespace

// y: [R, O] += x: [R, I] (int8 blocks) · W[o0:o1, :]ᵀ, W: [O, I] q8_0
void matvec_q8_rows_avx512(const MatvecWeights& w, const Q8Activations& x, I64 R, float* y, I64 o0, I64 o1) {
  switch (R) {
    case 1: return rows<1>(w, x, y, o0, o1);
    case 2: return rows<2>(w, x, y, o0, o1);
    case 3: return rows<3>(w, x, y, o0, o1);
    default: return rows<4>(w, x, y, o0, o1);
  }
}

}  // namespace attend::kernels
