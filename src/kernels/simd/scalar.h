#pragma once
// SIMD traits for the portable fallback: 8 lanes as a plain array (the compiler vectorises what it
// can with the baseline ISA). Included only by *_scalar.cpp translation units.
#include <cmath>
#include <cstdint>

#include "attend/dtype.h"

namespace attend::kernels {
namespace {

struct SimdScalar {
  static constexpr int W = 8;
  struct V { float x[W]; };
  static V zero() { return set1(0.0f); }
  static V set1(float a) { V r; for (float& e : r.x) e = a; return r; }
  static V load(const float* p) { V r; for (int i = 0; i < W; ++i) r.x[i] = p[i]; return r; }
  static void store(float* p, V a) { for (int i = 0; i < W; ++i) p[i] = a.x[i]; }
  static V fma(V a, V b, V c) { for (int i = 0; i < W; ++i) c.x[i] += a.x[i] * b.x[i]; return c; }
  static V mul(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] *= b.x[i]; return a; }
  static V add(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] += b.x[i]; return a; }
  static V sub(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] -= b.x[i]; return a; }
  static V min(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] = a.x[i] < b.x[i] ? a.x[i] : b.x[i]; return a; }  // b when either is NaN
  static V div(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] /= b.x[i]; return a; }
  static V max(V a, V b) { for (int i = 0; i < W; ++i) a.x[i] = (a.x[i] > b.x[i] || b.x[i] != b.x[i]) ? (b.x[i] != b.x[i] ? b.x[i] : a.x[i]) : b.x[i]; return a; }
  static float reduce_max(V a) { float m = a.x[0]; for (int i = 1; i < W; ++i) m = (a.x[i] > m || a.x[i] != a.x[i]) ? a.x[i] : m; return m; }
  static float reduce_add(V a) { float s = 0; for (float e : a.x) s += e; return s; }
  static V exp2(V a) { for (float& e : a.x) e = std::exp2(e); return a; }
  // dst[i · ldd + j] = rows[j][c + i] for i, j < W: a W × W block of keys transposed (Kᵀ panels).
  static void transpose_block(const float* const* rows, std::int64_t c, float* dst, std::int64_t ldd) {
    for (int i = 0; i < W; ++i)
      for (int j = 0; j < W; ++j) dst[i * ldd + j] = rows[j][c + i];
  }
  static void bf16_to_f32(const std::uint16_t* src, float* dst, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = attend::bf16_to_f32(src[i]);
  }
  static void f16_to_f32(const std::uint16_t* src, float* dst, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = attend::f16_to_f32(src[i]);
  }
};

}  // namespace
}  // namespace attend::kernels
