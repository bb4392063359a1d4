#pragma once
// Few-row products straight from stored weights (decode: one to kMatvecMaxRows activation rows).
// Decode reads every weight once per token, so it is a bandwidth problem: the weights are read in
// their stored type (f32, bf16, f16, or ggml blocks) and widened in registers, never repacked or
// copied (OpenBLAS's sgemm packs its B panel even for one row: ~40 % of decode time, measured).
//
// Shape letters: R activation rows (1..kMatvecMaxRows), I input width, O output width.
#include <cstddef>
#include <cstdint>

#include "attend/quant.h"

namespace attend::kernels {

inline constexpr std::int64_t kMatvecMaxRows = 4;

// A stored matrix as the matvec kernels read it. `type` is the element or block type: f32, f16,
// bf16, or a ggml block type with a reference conversion (q8_0, q4_0, q4_K, q6_K, ...).
struct MatvecWeights {
  const void* data = nullptr;
  GgmlType type = GgmlType::f32;
  std::int64_t rows = 0, cols = 0;      // as stored
  std::size_t row_stride = 0;           // bytes from stored row to stored row
  const std::int32_t* row_map = nullptr;  // logical row r is stored row row_map[r]; null: identity
  bool out_rows = true;                 // true: W [O, I] (y = x·Wᵀ); false: W [I, O] (y = x·W), dense only

  const void* row(std::int64_t r) const {
    const std::int64_t s = row_map ? row_map[r] : r;
    return static_cast<const char*>(data) + static_cast<std::size_t>(s) * row_stride;
  }
};

// One output range of an [O, I] product: y[r, o] += Σ_i x[r, i] · W[o, i] for o in [o0, o1).
// x: [R, I] f32, y: [R, O] f32 (accumulated onto).
using MatvecRowsFn = void (*)(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0,
                              std::int64_t o1);
// One output range of an [I, O] product (dense types only): y[r, o] += Σ_i x[r, i] · W[i, o].
using MatvecColsFn = void (*)(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0,
                              std::int64_t o1);

// y[R, O] += x[R, I] · (W [O, I]ᵀ or W [I, O]) on the active ISA path, over the global pool
// (chunks of output rows; each output is written by one task, so the result does not depend on
// the thread count). R in [1, kMatvecMaxRows]; x and y dense row-major, not overlapping.
// q8_0 weights while int8_activations() (attend/runtime.h, the default): x is quantized to int8
// blocks once and the int8 path runs (kernels/matvec_q8.h); otherwise the f32-activation bodies.
void matvec(const MatvecWeights& w, const float* x, std::int64_t R, float* y);

// The same on the scalar path, one thread (the reference the SIMD paths are tested against).
void matvec_scalar(const MatvecWeights& w, const float* x, std::int64_t R, float* y);

// Per-ISA bodies (matvec_scalar.cpp, matvec_avx2.cpp, matvec_avx512.cpp).
void matvec_rows_scalar(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_cols_scalar(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_rows_avx2(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_cols_avx2(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_rows_avx512(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_cols_avx512(const MatvecWeights& w, const float* x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);

// The calling thread's row of I floats for types without a SIMD widening (K-quants): the row is
// dequantized into it block by block (L1-sized for I <= 8192), then dotted.
float* matvec_row_scratch(std::int64_t n);

}  // namespace attend::kernels
