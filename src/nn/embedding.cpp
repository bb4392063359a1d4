// Token + learned position embedding.
#include <vector>

#include "nn/layers.h"

namespace attend::nn {

// out: [R, E], tok: [R], wte: [V, E], wpe: [T, E] or null
void embedding_forward(float* out, const std::int32_t* tok, const float* wte, const float* wpe,
                       std::int64_t R, std::int64_t T, std::int64_t E) {
  for (std::int64_t r = 0; r < R; ++r) {
    const float* te = wte + tok[r] * E;
    const float* pe = wpe ? wpe + (r % T) * E : nullptr;
    float* o = out + r * E;
    for (std::int64_t e = 0; e < E; ++e) o[e] = te[e] + (pe ? pe[e] : 0.0f);
  }
}

// out: [R, E], tok: [R], wte: [V, E], wpe: [context, E] or no data
void embedding_forward(float* out, const std::int32_t* tok, const WeightView& wte, const WeightView& wpe, std::int64_t pos0,
                       std::int64_t R, std::int64_t T) {
  const std::int64_t E = wte.cols;
  std::vector<float> pe(wpe.data ? static_cast<std::size_t>(E) : 0);
  for (std::int64_t r = 0; r < R; ++r) {
    float* o = out + r * E;
    weight_row(wte, tok[r], o);
    if (!wpe.data) continue;
    weight_row(wpe, pos0 + r % T, pe.data());
    for (std::int64_t e = 0; e < E; ++e) o[e] += pe[static_cast<std::size_t>(e)];
  }
}

void embedding_backward(float* dwte, float* dwpe, const float* dout, const std::int32_t* tok,
                        std::int64_t R, std::int64_t T, std::int64_t E) {
  for (std::int64_t r = 0; r < R; ++r) {
    const float* d = dout + r * E;
    float* te = dwte + tok[r] * E;
    for (std::int64_t e = 0; e < E; ++e) te[e] += d[e];
    if (dwpe) {
      float* pe = dwpe + (r % T) * E;
      for (std::int64_t e = 0; e < E; ++e) pe[e] += d[e];
    }
  }
}

}  // namespace attend::nn
