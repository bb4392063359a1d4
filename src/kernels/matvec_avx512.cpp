// matvec on the AVX-512 path: stored rows widened to f32 in registers (bf16: shift; f16: vcvtph2ps;
// q8_0 / q4_0: sign/zero-extend the block's bytes, one scale per block) and fused into the dot.
#include <immintrin.h>

#include <algorithm>

#include "core/quant_blocks.h"
#include "kernels/matvec.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

// Loaders: 16 consecutive elements of a dense row as f32 (the masked form reads only `m`'s lanes,
// so a row's tail never reads past its end).
struct LoadF32 {
  static __m512 load(const void* p, I64 i) { return _mm512_loadu_ps(static_cast<const float*>(p) + i); }
  static __m512 load(const void* p, I64 i, __mmask16 m) { return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i); }
};
struct LoadBf16 {
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const void* p, I64 i) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(p) + i))); }
  static __m512 load(const void* p, I64 i, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i)); }
};
struct LoadF16 {
  static __m512 load(const void* p, I64 i) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(p) + i))); }
  static __m512 load(const void* p, I64 i, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i)); }
};

float scale_of(std::uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

// Σ_i W[o, i]·x[r, i] for R rows of x, one dense stored row. Two accumulators per x row keep two
// FMAs in flight (one would stall on the 4-cycle FMA latency before memory is the limit).
template <class L, int R>
void dot_dense(const void* wrow, const float* x, I64 I, float* out) {
  __m512 a0[R], a1[R];
  for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm512_setzero_ps();
  I64 i = 0;
  for (; i + 32 <= I; i += 32) {
    const __m512 w0 = L::load(wrow, i), w1 = L::load(wrow, i + 16);
    for (int r = 0; r < R; ++r) {
      a0[r] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + r * I + i), a0[r]);
      a1[r] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + r * I + i + 16), a1[r]);
    }
  }
  for (; i < I; i += 16) {
    const __mmask16 m = I - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (I - i)) - 1);
    const __m512 w0 = L::load(wrow, i, m);
    for (int r = 0; r < R; ++r) a0[r] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, x + r * I + i), a0[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
}

// Σ_i W[o + j, i]·x[i] for four stored rows j = 0..3 and one x row: each x load feeds four FMAs
// (a load per FMA otherwise), four independent streams keep more cache-line misses in flight, and
// the loop exit and the reductions are paid once per four rows.
template <class L>
void dot_dense_x4(const void* const* wr, const float* x, I64 I, float* out) {
  __m512 a[4], b[4];
  for (int j = 0; j < 4; ++j) a[j] = b[j] = _mm512_setzero_ps();
  I64 i = 0;
  for (; i + 32 <= I; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
    for (int j = 0; j < 4; ++j) {
      a[j] = _mm512_fmadd_ps(L::load(wr[j], i), x0, a[j]);
      b[j] = _mm512_fmadd_ps(L::load(wr[j], i + 16), x1, b[j]);
    }
  }
  for (; i < I; i += 16) {
    const __mmask16 m = I - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (I - i)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, x + i);
    for (int j = 0; j < 4; ++j) a[j] = _mm512_fmadd_ps(L::load(wr[j], i, m), x0, a[j]);
  }
  for (int j = 0; j < 4; ++j) out[j] = _mm512_reduce_add_ps(_mm512_add_ps(a[j], b[j]));
}

// One x row against dense rows [o0, o1): four rows per pass, the rest one at a time.
template <class L>
void rows_dense1(const MatvecWeights& w, const float* x, float* y, I64 o0, I64 o1) {
  const I64 I = w.cols;
  I64 o = o0;
  for (; o + 4 <= o1; o += 4) {
    const void* wr[4] = {w.row(o), w.row(o + 1), w.row(o + 2), w.row(o + 3)};
    float s[4];
    dot_dense_x4<L>(wr, x, I, s);
    for (int j = 0; j < 4; ++j) y[o + j] += s[j];
  }
  for (; o < o1; ++o) {
    float s;
    dot_dense<L, 1>(w.row(o), x, I, &s);
    y[o] += s;
  }
}

// A 32-element block as two vectors of f32 quants (elements 0..15, 16..31) and its scale.
// q8_0: the block's int8 quants, sign-extended.
struct WidenQ8_0 {
  using Block = quant::BlockQ8_0;
  static void widen(const Block& b, __m512& w0, __m512& w1) {
    const __m128i* q = reinterpret_cast<const __m128i*>(b.qs);
    w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q)));
    w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1)));
  }
};
// q4_0: the block's 16 bytes hold elements j (low nibble) and j + 16 (high nibble), minus 8.
struct WidenQ4_0 {
  using Block = quant::BlockQ4_0;
  static void widen(const Block& b, __m512& w0, __m512& w1) {
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    const __m512i low = _mm512_set1_epi32(0x0F), eight = _mm512_set1_epi32(8);
    w0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(bytes, low), eight));
    w1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bytes, 4), eight));
  }
};

// A row of 32-element blocks with one f16 scale each: per block (Σ q·x) in f32 lanes, then one
// multiply-add by the block's scale.
template <int R, class W>
void dot_blocks32(const void* wrow, const float* x, I64 I, float* out) {
  const auto* b = static_cast<const typename W::Block*>(wrow);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (I64 k = 0; k < I / quant::kQK; ++k) {
    __m512 w0, w1;
    W::widen(b[k], w0, w1);
    const __m512 d = _mm512_set1_ps(scale_of(b[k].d));
    const float* xk = x + k * quant::kQK;
    for (int r = 0; r < R; ++r) {
      const __m512 t = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xk + r * I + 16), _mm512_mul_ps(w0, _mm512_loadu_ps(xk + r * I)));
      acc[r] = _mm512_fmadd_ps(d, t, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

// q4_K row: per 32-element sub-block j, d·sc_j·Σ q·x − dmin·m_j·Σ x (the block's 6-bit scale and
// min, q4k_scale_min); sub-blocks 2i and 2i + 1 share 32 bytes (low, then high nibbles).
template <int R>
void dot_q4_K(const void* wrow, const float* x, I64 I, float* out) {
  const auto* b = static_cast<const quant::BlockQ4_K*>(wrow);
  const __m512i low = _mm512_set1_epi32(0x0F);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (I64 k = 0; k < I / quant::kQKK; ++k) {
    const float d = scale_of(b[k].d), dmin = scale_of(b[k].dmin);
    for (int j = 0; j < 8; j += 2) {
      const std::uint8_t* q = b[k].qs + 16 * j;
      std::uint8_t sc, m;
      quant::q4k_scale_min(j, b[k].scales, sc, m);
      const __m512 d1 = _mm512_set1_ps(d * sc), m1 = _mm512_set1_ps(dmin * m);
      quant::q4k_scale_min(j + 1, b[k].scales, sc, m);
      const __m512 d2 = _mm512_set1_ps(d * sc), m2 = _mm512_set1_ps(dmin * m);
      const __m512i b0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
      const __m512i b1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
      const __m512 lo0 = _mm512_cvtepi32_ps(_mm512_and_si512(b0, low)), lo1 = _mm512_cvtepi32_ps(_mm512_and_si512(b1, low));
      const __m512 hi0 = _mm512_cvtepi32_ps(_mm512_srli_epi32(b0, 4)), hi1 = _mm512_cvtepi32_ps(_mm512_srli_epi32(b1, 4));
      for (int r = 0; r < R; ++r) {
        const float* xs = x + r * I + k * quant::kQKK + 32 * j;  // sub-block j, then j + 1 at +32
        const __m512 xa = _mm512_loadu_ps(xs), xb = _mm512_loadu_ps(xs + 16), xc = _mm512_loadu_ps(xs + 32), xd = _mm512_loadu_ps(xs + 48);
        const __m512 t1 = _mm512_fmadd_ps(lo1, xb, _mm512_mul_ps(lo0, xa)), s1 = _mm512_add_ps(xa, xb);
        const __m512 t2 = _mm512_fmadd_ps(hi1, xd, _mm512_mul_ps(hi0, xc)), s2 = _mm512_add_ps(xc, xd);
        acc[r] = _mm512_fnmadd_ps(m1, s1, _mm512_fmadd_ps(d1, t1, acc[r]));
        acc[r] = _mm512_fnmadd_ps(m2, s2, _mm512_fmadd_ps(d2, t2, acc[r]));
      }
    }
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

// q6_K row: per half (128 elements), lanes l of 16: four 6-bit quants from ql's nibbles and qh's
// bit pairs (elements l, l + 32, l + 64, l + 96), minus 32, each with its 16-element sub-block scale.
template <int R>
void dot_q6_K(const void* wrow, const float* x, I64 I, float* out) {
  const auto* b = static_cast<const quant::BlockQ6_K*>(wrow);
  const __m512i low = _mm512_set1_epi32(0x0F), three = _mm512_set1_epi32(3), off = _mm512_set1_epi32(32);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  auto load16 = [](const std::uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); };
  for (I64 k = 0; k < I / quant::kQKK; ++k) {
    const float d = scale_of(b[k].d);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = b[k].ql + 64 * h;
      const std::uint8_t* qh = b[k].qh + 32 * h;
      const std::int8_t* sc = b[k].scales + 8 * h;
      for (int g = 0; g < 2; ++g) {
        const __m512i la = load16(ql + 16 * g), lb = load16(ql + 32 + 16 * g), hb = load16(qh + 16 * g);
        const __m512 q1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
            _mm512_or_si512(_mm512_and_si512(la, low), _mm512_slli_epi32(_mm512_and_si512(hb, three), 4)), off));
        const __m512 q2 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
            _mm512_or_si512(_mm512_and_si512(lb, low), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(hb, 2), three), 4)), off));
        const __m512 q3 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
            _mm512_or_si512(_mm512_srli_epi32(la, 4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(hb, 4), three), 4)), off));
        const __m512 q4 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
            _mm512_or_si512(_mm512_srli_epi32(lb, 4), _mm512_slli_epi32(_mm512_srli_epi32(hb, 6), 4)), off));
        const __m512 s1 = _mm512_set1_ps(d * sc[g]), s2 = _mm512_set1_ps(d * sc[g + 2]);
        const __m512 s3 = _mm512_set1_ps(d * sc[g + 4]), s4 = _mm512_set1_ps(d * sc[g + 6]);
        for (int r = 0; r < R; ++r) {
          const float* xs = x + r * I + k * quant::kQKK + 128 * h + 16 * g;
          acc[r] = _mm512_fmadd_ps(s1, _mm512_mul_ps(q1, _mm512_loadu_ps(xs)), acc[r]);
          acc[r] = _mm512_fmadd_ps(s2, _mm512_mul_ps(q2, _mm512_loadu_ps(xs + 32)), acc[r]);
          acc[r] = _mm512_fmadd_ps(s3, _mm512_mul_ps(q3, _mm512_loadu_ps(xs + 64)), acc[r]);
          acc[r] = _mm512_fmadd_ps(s4, _mm512_mul_ps(q4, _mm512_loadu_ps(xs + 96)), acc[r]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

// Other block types: the row dequantized into L1 scratch by the reference, then dotted.
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
      case GgmlType::q4_K: dot_q4_K<R>(wr, x, I, s); break;
      case GgmlType::q6_K: dot_q6_K<R>(wr, x, I, s); break;
      default: dot_blocks<R>(w.type, wr, x, I, s); break;
    }
    for (int r = 0; r < R; ++r) y[r * O + o] += s[r];
  }
}

// [I, O] weights: stream row i's slice [o0, o1) once, y[r, slice] += x[r, i]·slice for every r.
template <class L>
void cols(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  const I64 I = w.rows, O = w.cols;
  for (I64 i = 0; i < I; ++i) {
    const void* wr = w.row(i);
    for (I64 o = o0; o < o1; o += 16) {
      const __mmask16 m = o1 - o >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (o1 - o)) - 1);
      const __m512 wv = L::load(wr, o, m);
      for (I64 r = 0; r < R; ++r) {
        float* yr = y + r * O + o;
        _mm512_mask_storeu_ps(yr, m, _mm512_fmadd_ps(_mm512_set1_ps(x[r * I + i]), wv, _mm512_maskz_loadu_ps(m, yr)));
      }
    }
  }
}

}  // namespace

// y: [R, O] += x: [R, I] · W[o0:o1, :]ᵀ, W: [O, I]
void matvec_rows_avx512(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  // Decode's one row of f32 weights: four stored rows per pass (bench --matvec, same run, 3 pairs:
  // f32 process CPU ms/token 23.2, 20.3, 21.3 against 30.0, 26.9, 27.5 a row at a time; bf16 and f16
  // were 50 % slower four rows at a time, so they stay one row per pass).
  if (R == 1 && w.type == GgmlType::f32) return rows_dense1<LoadF32>(w, x, y, o0, o1);
  switch (R) {
    case 1: return rows<1>(w, x, y, o0, o1);
    case 2: return rows<2>(w, x, y, o0, o1);
    case 3: return rows<3>(w, x, y, o0, o1);
    default: return rows<4>(w, x, y, o0, o1);
  }
}

// y: [R, O] += x: [R, I] · W[:, o0:o1], W: [I, O] (dense)
void matvec_cols_avx512(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  switch (w.type) {
    case GgmlType::bf16: return cols<LoadBf16>(w, x, R, y, o0, o1);
    case GgmlType::f16: return cols<LoadF16>(w, x, R, y, o0, o1);
    default: return cols<LoadF32>(w, x, R, y, o0, o1);
  }
}

}  // namespace attend::kernels
