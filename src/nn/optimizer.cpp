// AdamW (decoupled weight decay) and gradient-norm helpers.
#include "nn/optimizer.h"

#include <cmath>

#include "core/thread_pool.h"

namespace attend::nn {
namespace {
constexpr std::int64_t kUpdateGrain = 16384;  // parameters per task: 64 KiB of each of p, g, m, v
}  // namespace

void adamw_step(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamWParams& a, bool decay) {
  const float c1 = 1.0f - std::pow(a.beta1, static_cast<float>(a.t));
  const float c2 = 1.0f - std::pow(a.beta2, static_cast<float>(a.t));
  const float wd = decay ? a.weight_decay : 0.0f;
  // Elementwise: ranges in parallel give the same result with any thread count.
  core::parallel_ranges(n, kUpdateGrain, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      m[i] = a.beta1 * m[i] + (1 - a.beta1) * g[i];
      v[i] = a.beta2 * v[i] + (1 - a.beta2) * g[i] * g[i];
      p[i] -= a.lr * ((m[i] / c1) / (std::sqrt(v[i] / c2) + a.eps) + wd * p[i]);
    }
  });
}

void adamw_update(Model::Impl& model, std::vector<float>& m, std::vector<float>& v, const AdamWParams& a) {
  for (const ParamSpec& s : model.specs)
    adamw_step(model.params.data() + s.offset, model.grads.data() + s.offset, m.data() + s.offset, v.data() + s.offset,
               s.size, a, s.decay);
}

double grad_norm(const std::vector<float>& grads) {
  double s = 0;
  for (float g : grads) s += static_cast<double>(g) * g;
  return std::sqrt(s);
}

void scale_grads(std::vector<float>& grads, float s) {
  for (float& g : grads) g *= s;
}

}  // namespace attend::nn
