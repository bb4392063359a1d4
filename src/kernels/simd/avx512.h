#pragma once
// SIMD traits for AVX-512 (16 f32 lanes). Included only by *_avx512.cpp translation units.
#include <immintrin.h>

#include <cstdint>

namespace attend::kernels {
namespace {

struct SimdAvx512 {
  static constexpr int W = 16;
  using V = __m512;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V x) { _mm512_storeu_ps(p, x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }  // b when either is NaN
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static float reduce_max(V x) { return _mm512_reduce_max_ps(x); }
  static float reduce_add(V x) { return _mm512_reduce_add_ps(x); }

  // 2^x, relative error ~1 ulp: x = n + f with |f| <= 1/2, 2^f by a degree-7 polynomial, scaled
  // by 2^n with vscalefps (handles the exponent range without integer tricks). -inf -> 0, NaN kept.
  static V exp2(V x) {
    x = _mm512_max_ps(_mm512_set1_ps(-160.0f), x);  // NaN in the second operand propagates
    x = _mm512_min_ps(_mm512_set1_ps(160.0f), x);   // +inf -> 2^160 = inf (not inf - inf = NaN)
    const V n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const V f = _mm512_sub_ps(x, n);
    V p = _mm512_set1_ps(1.5252733804e-5f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393e-4f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108665e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650696e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718056e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
  }

  // dst[i · ldd + j] = rows[j][c + i] for i, j < 16: a 16 × 16 block of keys transposed in
  // registers (unpack pairs of rows, shuffle quads, then a 4 × 4 transpose of 128-bit lanes), so
  // packing Kᵀ costs 16 loads + 64 shuffles + 16 stores instead of 256 scattered scalar stores.
  static void transpose_block(const float* const* rows, std::int64_t c, float* dst, std::int64_t ldd) {
    V r[16], t[16], u[16];
    for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(rows[j] + c);
    for (int k = 0; k < 8; ++k) {  // t[2k], t[2k+1]: rows 2k, 2k+1 interleaved (per 128-bit lane)
      t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
      t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; ++k) {  // u[4k + m], lane L: rows 4k..4k+3 of column 4L + m
      u[4 * k + 0] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
      u[4 * k + 1] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
      u[4 * k + 2] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
      u[4 * k + 3] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    for (int m = 0; m < 4; ++m) {  // column 4L + m = lane L of u[m], u[4 + m], u[8 + m], u[12 + m]
      const V x0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44), x1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
      const V x2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44), x3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
      _mm512_storeu_ps(dst + (0 + m) * ldd, _mm512_shuffle_f32x4(x0, x2, 0x88));
      _mm512_storeu_ps(dst + (4 + m) * ldd, _mm512_shuffle_f32x4(x0, x2, 0xDD));
      _mm512_storeu_ps(dst + (8 + m) * ldd, _mm512_shuffle_f32x4(x1, x3, 0x88));
      _mm512_storeu_ps(dst + (12 + m) * ldd, _mm512_shuffle_f32x4(x1, x3, 0xDD));
    }
  }

  // n contiguous 16-bit values -> f32 (n a multiple of W not required: tail done by mask).
  static void bf16_to_f32(const std::uint16_t* src, float* dst, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + W <= n; i += W) {
      const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
      _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    if (i < n) {
      const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
      _mm512_mask_storeu_ps(dst + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
  }
  static void f16_to_f32(const std::uint16_t* src, float* dst, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + W <= n; i += W)
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
    if (i < n) {
      const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
  }
};

}  // namespace
}  // namespace attend::kernels
