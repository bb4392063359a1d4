// Softmax cross-entropy over the vocabulary, fused with its gradient.
#include <cmath>
#include <limits>

#include "nn/layers.h"

namespace attend::nn {

// logits, dlogits: [R, V]; targets: [R] (−1 ignored)
double crossentropy_forward_backward(float* dlogits, const float* logits, const std::int32_t* targets,
                                     std::int64_t R, std::int64_t V, float grad_scale, std::int64_t* counted) {
  double total = 0;
  std::int64_t n = 0;
  for (std::int64_t r = 0; r < R; ++r) {
    const float* l = logits + r * V;
    float* d = dlogits ? dlogits + r * V : nullptr;
    if (targets[r] < 0) {
      if (d)
        for (std::int64_t v = 0; v < V; ++v) d[v] = 0;
      continue;
    }
    float m = -std::numeric_limits<float>::infinity();
    for (std::int64_t v = 0; v < V; ++v) m = l[v] > m ? l[v] : m;
    double sum = 0;
    for (std::int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(l[v] - m));
    const double lse = m + std::log(sum);
    total += lse - l[targets[r]];
    ++n;
    if (d) {
      const float t = l[targets[r]];
      (void)t;
      for (std::int64_t v = 0; v < V; ++v) {
        const float p = static_cast<float>(std::exp(static_cast<double>(l[v]) - lse));
        d[v] = (p - (v == targets[r] ? 1.0f : 0.0f)) * grad_scale;
      }
    }
  }
  if (counted) *counted = n;
  return total;
}

}  // namespace attend::nn
