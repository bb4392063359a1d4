// The activation quantizer of the int8 matvec path (one scalar body for every ISA: a product's
// quantized x is then the same on every path; I ≤ 8192 floats per row, negligible beside the
// weight rows it is dotted with).
#include "kernels/matvec_q8.h"

#include <cmath>

#include "core/quant_blocks.h"

namespace attend::kernels {

// x: [R, I] -> q: [R, I], d: [R, I/32]
void quantize_activations_q8(const float* x, std::int64_t R, std::int64_t I, std::int8_t* q, float* d) {
  // Plain comparisons and the 1.5·2^23 rounding trick instead of fmaxf / fminf / nearbyintf: those
  // stay libm calls in this baseline-ISA file (perf: 6 % of a q8_0 decode step), these vectorise.
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: (v + kRound) − kRound rounds |v| < 2^22 to nearest even
  const std::int64_t nb = I / quant::kQK;
  for (std::int64_t b = 0; b < R * nb; ++b) {
    const float* xb = x + b * quant::kQK;
    std::int8_t* qb = q + b * quant::kQK;
    float amax = 0.0f;
    for (int j = 0; j < quant::kQK; ++j) {
      const float a = std::fabs(xb[j]);
      amax = a > amax ? a : amax;
    }
    float bad = 0.0f;  // 0 for finite values, NaN if the block holds a NaN or an infinity
    for (int j = 0; j < quant::kQK; ++j) bad += xb[j] - xb[j];
    if (bad != 0.0f) {  // NaN != 0
      d[b] = NAN;
      for (int j = 0; j < quant::kQK; ++j) qb[j] = 0;
      continue;
    }
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    for (int j = 0; j < quant::kQK; ++j) {
      float v = (xb[j] * inv + kRound) - kRound;  // |x·inv| ≤ 127 (+ rounding): well inside the trick's range
      v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
      qb[j] = static_cast<std::int8_t>(v);
    }
  }
}

}  // namespace attend::kernels
