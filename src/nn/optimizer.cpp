// AdamW (decoupled weight decay) and gradient-norm helpers.
#include "nn/optimizer.h"

#include <cmath>

namespace attend::nn {

void adamw_update(Model::Impl& model, std::vector<float>& m, std::vector<float>& v, const AdamWParams& a) {
  const float c1 = 1.0f - std::pow(a.beta1, static_cast<float>(a.t));
  const float c2 = 1.0f - std::pow(a.beta2, static_cast<float>(a.t));
  for (const ParamSpec& s : model.specs) {
    const float wd = s.decay ? a.weight_decay : 0.0f;
    float* p = model.params.data() + s.offset;
    const float* g = model.grads.data() + s.offset;
    float* mm = m.data() + s.offset;
    float* vv = v.data() + s.offset;
    for (std::int64_t i = 0; i < s.size; ++i) {
      mm[i] = a.beta1 * mm[i] + (1 - a.beta1) * g[i];
      vv[i] = a.beta2 * vv[i] + (1 - a.beta2) * g[i] * g[i];
      p[i] -= a.lr * ((mm[i] / c1) / (std::sqrt(vv[i] / c2) + a.eps) + wd * p[i]);
    }
  }
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
