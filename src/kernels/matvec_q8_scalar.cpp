// The int8 matvec path in plain C++ (the reference the SIMD bodies are tested against): per block
// an exact int32 dot, then one f32 multiply-add by the two scales.
#include "attend/dtype.h"
#include "core/quant_blocks.h"
#include "kernels/matvec_q8.h"

namespace attend::kernels {

// y: [R, O] += x: [R, I] (int8 blocks) · W[o0:o1, :]ᵀ, W: [O, I] q8_0
void matvec_q8_rows_scalar(const MatvecWeights& w, const Q8Activations& x, std::int64_t R, float* y, std::int64_t o0,
                           std::int64_t o1) {
  const std::int64_t I = w.cols, O = w.rows, nb = I / quant::kQK;
  for (std::int64_t o = o0; o < o1; ++o) {
    const auto* b = static_cast<const quant::BlockQ8_0*>(w.row(o));
    for (std::int64_t r = 0; r < R; ++r) {
      const std::int8_t* xq = x.q + r * I;
      const float* xd = x.d + r * nb;
      float acc = 0.0f;
      for (std::int64_t k = 0; k < nb; ++k) {
        std::int32_t s = 0;
        for (int j = 0; j < quant::kQK; ++j) s += static_cast<std::int32_t>(b[k].qs[j]) * xq[k * quant::kQK + j];
        acc += f16_to_f32(b[k].d) * xd[k] * static_cast<float>(s);
      }
      y[r * O + o] += acc;
    }
  }
}

}  // namespace attend::kernels
