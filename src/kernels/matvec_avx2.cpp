// matvec on the AVX2 path: the AVX-512 path's scheme at 8 lanes (stored rows widened to f32 in
// registers; q8_0 / q4_0 blocks with one scale per block); tails in scalar code.
#include <immintrin.h>

#include <algorithm>

#include "attend/dtype.h"
#include "core/quant_blocks.h"
#include "kernels/matvec.h"
#include "kernels/matvec_kquants.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

struct LoadF32 {
  static __m256 load(const void* p, I64 i) { return _mm256_loadu_ps(static_cast<const float*>(p) + i); }
  static float one(const void* p, I64 i) { return static_cast<const float*>(p)[i]; }
};
struct LoadBf16 {
  static __m256 load(const void* p, I64 i) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(p) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float one(const void* p, I64 i) { return bf16_to_f32(static_cast<const std::uint16_t*>(p)[i]); }
};
struct LoadF16 {
  static __m256 load(const void* p, I64 i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(p) + i)));
  }
  static float one(const void* p, I64 i) { return f16_to_f32(static_cast<const std::uint16_t*>(p)[i]); }
};

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}
float scale_of(std::uint16_t h) { return f16_to_f32(h); }

// Two accumulators per x row keep two FMAs in flight (one would wait on the FMA latency).
template <class L, int R>
void dot_dense(const void* wrow, const float* x, I64 I, float* out) {
  __m256 a0[R], a1[R];
  for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
  I64 i = 0;
  for (; i + 16 <= I; i += 16) {
    const __m256 w0 = L::load(wrow, i), w1 = L::load(wrow, i + 8);
    for (int r = 0; r < R; ++r) {
      a0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * I + i), a0[r]);
      a1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * I + i + 8), a1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float s = hsum(_mm256_add_ps(a0[r], a1[r]));
    for (I64 j = i; j < I; ++j) s += L::one(wrow, j) * x[r * I + j];
    out[r] = s;
  }
}

// A 32-element block as four vectors of f32 quants (elements 0..7, ..., 24..31).
// q8_0: the block's int8 quants, sign-extended.
struct WidenQ8_0 {
  using Block = quant::BlockQ8_0;
  static __m256 q8(const std::int8_t* q) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)))); }
  static void widen(const Block& b, __m256* w) {
    for (int j = 0; j < 4; ++j) w[j] = q8(b.qs + 8 * j);
  }
};
// q4_0: byte j holds element j (low nibble) and j + 16 (high nibble), each minus 8.
struct WidenQ4_0 {
  using Block = quant::BlockQ4_0;
  static void widen(const Block& b, __m256* w) {
    const __m256i low = _mm256_set1_epi32(0x0F), eight = _mm256_set1_epi32(8);
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m256i lo8 = _mm256_cvtepu8_epi32(bytes), hi8 = _mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8));
    w[0] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(lo8, low), eight));  // elements 0..7
    w[1] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(hi8, low), eight));  // 8..15
    w[2] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(lo8, 4), eight));   // 16..23
    w[3] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(hi8, 4), eight));   // 24..31
  }
};

// A row of 32-element blocks with one f16 scale each: per block (Σ q·x) in f32 lanes, then one
// multiply-add by the block's scale.
template <int R, class W>
void dot_blocks32(const void* wrow, const float* x, I64 I, float* out) {
  const auto* b = static_cast<const typename W::Block*>(wrow);
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (I64 k = 0; k < I / quant::kQK; ++k) {
    __m256 w[4];
    W::widen(b[k], w);
    const __m256 d = _mm256_set1_ps(scale_of(b[k].d));
    for (int r = 0; r < R; ++r) {
      const float* xk = x + r * I + k * quant::kQK;
      __m256 t = _mm256_mul_ps(w[0], _mm256_loadu_ps(xk));
      for (int j = 1; j < 4; ++j) t = _mm256_fmadd_ps(w[j], _mm256_loadu_ps(xk + 8 * j), t);
      acc[r] = _mm256_fmadd_ps(d, t, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = hsum(acc[r]);
}

// K-quant rows: each 256-element block widened into an L1 buffer by vectorised loops, then dotted.
template <int R, class Block, void (*Widen)(const Block&, float*)>
void dot_kquant(const void* wrow, const float* x, I64 I, float* out) {
  const auto* b = static_cast<const Block*>(wrow);
  alignas(32) float buf[quant::kQKK];
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (I64 k = 0; k < I / quant::kQKK; ++k) {
    Widen(b[k], buf);
    for (int i = 0; i < quant::kQKK; i += 8) {
      const __m256 w = _mm256_load_ps(buf + i);
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + r * I + k * quant::kQKK + i), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = hsum(acc[r]);
}

template <int R>
void dot_blocks(GgmlType type, const void* wrow, const float* x, I64 I, float* out) {
  float* row = matvec_row_scratch(I);
  dequantize_row(type, wrow, row, I);
  dot_dense<LoadF32, R>(row, x, I, out);
}

template <int R>
void rows(const MatvecWeights& w, const float* x, float* y, I64 o0, I64 o1) {
  const I64 I = w.cols, O = w.rows;
  float s[R];
  for (I64 o = o0; o < o1; ++o) {
    const void* wr = w.row(o);
    switch (w.type) {
      case GgmlType::f32: dot_dense<LoadF32, R>(wr, x, I, s); break;
      case GgmlType::bf16: dot_dense<LoadBf16, R>(wr, x, I, s); break;
      case GgmlType::f16: dot_dense<LoadF16, R>(wr, x, I, s); break;
      case GgmlType::q8_0: dot_blocks32<R, WidenQ8_0>(wr, x, I, s); break;
      case GgmlType::q4_0: dot_blocks32<R, WidenQ4_0>(wr, x, I, s); break;
      case GgmlType::q4_K: dot_kquant<R, quant::BlockQ4_K, widen_q4_K_block>(wr, x, I, s); break;
      case GgmlType::q6_K: dot_kquant<R, quant::BlockQ6_K, widen_q6_K_block>(wr, x, I, s); break;
      default: dot_blocks<R>(w.type, wr, x, I, s); break;
    }
    for (int r = 0; r < R; ++r) y[r * O + o] += s[r];
  }
}

template <class L>
void cols(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  const I64 I = w.rows, O = w.cols;
  for (I64 i = 0; i < I; ++i) {
    const void* wr = w.row(i);
    I64 o = o0;
    for (; o + 8 <= o1; o += 8) {
      const __m256 wv = L::load(wr, o);
      for (I64 r = 0; r < R; ++r) {
        float* yr = y + r * O + o;
        _mm256_storeu_ps(yr, _mm256_fmadd_ps(_mm256_set1_ps(x[r * I + i]), wv, _mm256_loadu_ps(yr)));
      }
    }
    for (; o < o1; ++o)
      for (I64 r = 0; r < R; ++r) y[r * O + o] += x[r * I + i] * L::one(wr, o);
  }
}

}  // namespace

// y: [R, O] += x: [R, I] · W[o0:o1, :]ᵀ, W: [O, I]
void matvec_rows_avx2(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  switch (R) {
    case 1: return rows<1>(w, x, y, o0, o1);
    case 2: return rows<2>(w, x, y, o0, o1);
    case 3: return rows<3>(w, x, y, o0, o1);
    default: return rows<4>(w, x, y, o0, o1);
  }
}

// y: [R, O] += x: [R, I] · W[:, o0:o1], W: [I, O] (dense)
void matvec_cols_avx2(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  switch (w.type) {
    case GgmlType::bf16: return cols<LoadBf16>(w, x, R, y, o0, o1);
    case GgmlType::f16: return cols<LoadF16>(w, x, R, y, o0, o1);
    default: return cols<LoadF32>(w, x, R, y, o0, o1);
  }
}

}  // namespace attend::kernels
