#pragma once
// q8_0 weight rows against activations quantized to 8 bits (attend/runtime.h: int8_activations):
// each activation row is cut into 32-element blocks, block b stored as int8 q[32] and an f32 scale
// d[b] = max|x|/127 (x ≈ d·q, round to nearest), once per product; a weight row's dot is then
// Σ_b d_w[b]·d[b]·(Σ_j qw[j]·q[j]) with the inner sum exact in int32 (|Σ| ≤ 32·128·127 < 2^31).
// Error against the f32-activation product: at most Σ_i |w_i|·d[b(i)]/2.
//
// Shape letters: R activation rows (1..kMatvecMaxRows), I input width (a multiple of 32), O outputs.
#include <cstdint>

#include "kernels/matvec.h"

namespace attend::kernels {

// Quantized activations: q [R, I] int8, d [R, I/32] f32 (row r's block b scale at d[r·I/32 + b]).
struct Q8Activations {
  const std::int8_t* q = nullptr;
  const float* d = nullptr;
  std::int64_t cols = 0;  // I
};

// x: [R, I] f32 -> q: [R, I], d: [R, I/32]. I a multiple of 32. A block holding a NaN or an
// infinity gets d = NaN and q = 0 (its products then come out NaN, as the f32 path's would).
void quantize_activations_q8(const float* x, std::int64_t R, std::int64_t I, std::int8_t* q, float* d);

// One output range: y[r, o] += Σ_b d_w·d_x·(Σ_j qw·qx) for o in [o0, o1). W: [O, I] q8_0 (w.type
// must be q8_0, out_rows), x as quantized above, y: [R, O] accumulated onto.
using MatvecQ8Fn = void (*)(const MatvecWeights& w, const Q8Activations& x, std::int64_t R, float* y, std::int64_t o0,
                            std::int64_t o1);

// Per-ISA bodies (matvec_q8_scalar.cpp, matvec_q8_avx2.cpp, matvec_q8_avx512.cpp).
void matvec_q8_rows_scalar(const MatvecWeights& w, const Q8Activations& x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_q8_rows_avx2(const MatvecWeights& w, const Q8Activations& x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);
void matvec_q8_rows_avx512(const MatvecWeights& w, const Q8Activations& x, std::int64_t R, float* y, std::int64_t o0, std::int64_t o1);

}  // namespace attend::kernels
