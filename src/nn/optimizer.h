#pragma once
// AdamW over the flat parameter buffer, and the global gradient norm for clipping.
#include <cstdint>
#include <vector>

#include "nn/model_impl.h"

namespace attend::nn {

struct AdamWParams {
  float lr, beta1, beta2, eps, weight_decay;
  std::int64_t t;  // 1-based step, for bias correction
};

// Per parameter i: m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
// p −= lr · (m̂ / (√v̂ + ε) + wd · p)  (wd only for specs with decay), m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ).
// The same update over one flat buffer of n parameters (decay: apply the weight decay).
void adamw_step(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamWParams& a, bool decay);
void adamw_update(Model::Impl& model, std::vector<float>& m, std::vector<float>& v, const AdamWParams& a);

double grad_norm(const std::vector<float>& grads);
void scale_grads(std::vector<float>& grads, float s);

}  // namespace attend::nn
