// The activation quantizer of the int8 matvec path (one scalar body for every ISA: a product's
// quantized x is then the same on every path; I ≤ 8192 floats per row, negligible beside the
// weight rows it is dotted with).
#include "kernels/matvec_q8.h"

#include <cmath>

#include "core/quant_blocks.h"

namespace attend::kernels {

// x: [R, I] -> q: [R, I], d: [R, I/32]
void quantize_activations_q8(const float* x, std::int64_t R, std::int64_t I, std::int8_t* q, float* d) {
  const std::int64_t nb = I / quant::kQK;
  for (std::int64_t b = 0; b < R * nb; ++b) {
    const float* xb = x + b * quant::kQK;
    std::int8_t* qb = q + b * quant::kQK;
    float amax = 0.0f;
    bool finite = true;
    for (int j = 0; j < quant::kQK; ++j) {
      finite = finite && std::isfinite(xb[j]);
      amax = std::fmax(amax, std::fabs(xb[j]));
    }
    if (!finite) {
      d[b] = NAN;
      for (int j = 0; j < quant::kQK; ++j) qb[j] = 0;
      continue;
    }
    const float scale = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = scale;
    for (int j = 0; j < quant::kQK; ++j) {
      const float v = std::nearbyint(xb[j] * inv);  // round to nearest (even), |v| ≤ 127 up to rounding
      qb[j] = static_cast<std::int8_t>(std::fmax(-127.0f, std::fmin(127.0f, v)));
    }
  }
}

}  // namespace attend::kernels
