// Hook points of the forward pass (nn/hooks.h): the caller and the pattern materialisation.
#include "nn/hooks.h"

#include <cmath>
#include <vector>

namespace attend::nn {

using I64 = std::int64_t;

HookCaller::HookCaller(ModelHooks* hooks, int layer, I64 T, I64 E, I64 H, I64 G, I64 D) : hooks_(hooks) {
  site_.layer = layer;
  site_.tokens = T;
  site_.d_model = E;
  site_.heads = H;
  site_.kv_heads = G;
  site_.head_dim = D;
}

void HookCaller::operator()(HookPoint point, float* x) const {
  if (!hooks_ || !hooks_->wants(point, site_.layer)) return;
  I64 per_token = site_.d_model;
  if (point == HookPoint::q || point == HookPoint::head_out) per_token = site_.heads * site_.head_dim;
  if (point == HookPoint::k || point == HookPoint::v) per_token = site_.kv_heads * site_.head_dim;
  HookSite s = site_;
  s.point = point;
  hooks_->on_activation(s, Span<float>(x, static_cast<std::size_t>(site_.tokens * per_token)));
}

void run_pattern_hooks(ModelHooks& hooks, int layer, const float* q, const float* k, const float* v, float* att, I64 T, I64 H,
                       I64 G, I64 D) {
  std::vector<int> heads;
  for (int h = 0; h < H; ++h)
    if (hooks.wants_pattern(layer, h)) heads.push_back(h);
  if (heads.empty()) return;
  const auto n = static_cast<std::size_t>(T);
  std::vector<float> pat(heads.size() * n * n, 0.0f);
  std::vector<double> s(n);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));  // the model's attention uses the default scale
  for (std::size_t a = 0; a < heads.size(); ++a) {
    const I64 h = heads[a], g = h / (H / G);
    for (I64 i = 0; i < T; ++i) {  // row i sees keys 0 .. i (causal); softmax in double
      double m = -INFINITY;
      for (I64 j = 0; j <= i; ++j) {
        double dot = 0;
        for (I64 c = 0; c < D; ++c) dot += static_cast<double>(q[(i * H + h) * D + c]) * k[(j * G + g) * D + c];
        s[static_cast<std::size_t>(j)] = scale * dot;
        m = std::max(m, s[static_cast<std::size_t>(j)]);
      }
      double l = 0;
      for (I64 j = 0; j <= i; ++j) l += std::exp(s[static_cast<std::size_t>(j)] - m);
      float* row = pat.data() + (a * n + static_cast<std::size_t>(i)) * n;
      for (I64 j = 0; j <= i; ++j) row[j] = static_cast<float>(std::exp(s[static_cast<std::size_t>(j)] - m) / l);
    }
  }
  hooks.on_patterns(layer, heads, pat, T);
  for (std::size_t a = 0; a < heads.size(); ++a) {  // z_h = P_h · v_g over every key (a hook may fill the upper triangle)
    const I64 h = heads[a], g = h / (H / G);
    for (I64 i = 0; i < T; ++i) {
      const float* row = pat.data() + (a * n + static_cast<std::size_t>(i)) * n;
      std::vector<double> z(static_cast<std::size_t>(D), 0.0);
      for (I64 j = 0; j < T; ++j) {
        if (row[j] == 0.0f) continue;
        for (I64 c = 0; c < D; ++c) z[static_cast<std::size_t>(c)] += static_cast<double>(row[j]) * v[(j * G + g) * D + c];
      }
      for (I64 c = 0; c < D; ++c) att[(i * H + h) * D + c] = static_cast<float>(z[static_cast<std::size_t>(c)]);
    }
  }
}

}  // namespace attend::nn
