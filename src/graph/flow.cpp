// Self-attention dynamics of token particles on the unit sphere: tokens move as a coupled flow and
// cluster (Geshkovski et al., "A mathematical perspective on Transformers", 2023; attention as a
// transport flow of token embeddings, "The Flow of Attention", Towards AI).
#include <algorithm>
#include <cmath>
#include <random>

#include "attend/graph.h"
#include "attn_util.h"
#include "core/check.h"

namespace attend::graph {
namespace {

std::vector<float> apply(const std::vector<float>& x, const std::vector<float>& w, int n, int d) {  // x wᵀ rows
  if (w.empty()) return x;  // identity
  std::vector<float> y(static_cast<std::size_t>(n) * d, 0.0f);
  for (int i = 0; i < n; ++i)
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b) y[static_cast<std::size_t>(i) * d + a] += w[static_cast<std::size_t>(a) * d + b] * x[static_cast<std::size_t>(i) * d + b];
  return y;
}

double cos_ij(const std::vector<float>& x, int d, int i, int j) {
  double s = 0;
  for (int a = 0; a < d; ++a) s += static_cast<double>(x[static_cast<std::size_t>(i) * d + a]) * x[static_cast<std::size_t>(j) * d + a];
  return s;
}

}  // namespace

std::vector<float> flow_velocity(const std::vector<float>& x, int n, int d, float beta, bool unnormalised,
                                 const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v) {
  const auto qx = apply(x, q, n, d), kx = apply(x, k, n, d), vx = apply(x, v, n, d);
  std::vector<float> lse;
  // Σ_j softmax_j(β⟨Qx_i, Kx_j⟩) V x_j by attend::attention with scale β; the unnormalised sum
  // (1/n) Σ_j e^{β⟨·,·⟩} V x_j is that times e^{lse_i}/n.
  std::vector<float> u = internal::attend_rows(qx, kx, vx, n, n, d, d, beta, &lse);
  for (int i = 0; i < n; ++i) {
    const float z = unnormalised ? std::exp(lse[static_cast<std::size_t>(i)]) / static_cast<float>(n) : 1.0f;
    double dotp = 0;
    for (int a = 0; a < d; ++a) {
      u[static_cast<std::size_t>(i) * d + a] *= z;
      dotp += static_cast<double>(u[static_cast<std::size_t>(i) * d + a]) * x[static_cast<std::size_t>(i) * d + a];
    }
    for (int a = 0; a < d; ++a) u[static_cast<std::size_t>(i) * d + a] -= static_cast<float>(dotp) * x[static_cast<std::size_t>(i) * d + a];  // P_x
  }
  return u;
}

std::vector<int> cluster_labels(const std::vector<float>& x, int n, int d, double cos_min) {
  if (n < 0 || d <= 0 || x.size() < static_cast<std::size_t>(n) * static_cast<std::size_t>(d))
    detail::fail("cluster_labels", "x holds ", x.size(), " values, fewer than n·d for n = ", n, ", d = ", d);
  std::vector<int> label(static_cast<std::size_t>(n), -1);
  int next = 0;
  for (int i = 0; i < n; ++i) {
    if (label[static_cast<std::size_t>(i)] >= 0) continue;
    label[static_cast<std::size_t>(i)] = next;  // greedy: i seeds a cluster of all close unlabelled j
    for (int j = i + 1; j < n; ++j)
      if (label[static_cast<std::size_t>(j)] < 0 && cos_ij(x, d, i, j) >= cos_min) label[static_cast<std::size_t>(j)] = next;
    ++next;
  }
  return label;
}

FlowTrace token_flow(const FlowOptions& o) {
  if (o.n < 1 || o.d < 2 || !(o.beta >= 0) || !(o.dt > 0) || o.steps < 0)
    detail::fail("graph::token_flow", "need n >= 1, d >= 2, beta >= 0, dt > 0, steps >= 0; got n=", o.n, " d=", o.d, " beta=", o.beta, " dt=", o.dt);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const std::size_t nd = static_cast<std::size_t>(o.n) * o.d;
  std::vector<float> x(nd), q, k, v;
  if (!o.identity) {
    for (auto* w : {&q, &k, &v}) {
      w->resize(static_cast<std::size_t>(o.d) * o.d);
      for (float& e : *w) e = g(rng) / std::sqrt(static_cast<float>(o.d));
    }
  }
  for (float& e : x) e = g(rng);
  auto renorm = [&] {
    for (int i = 0; i < o.n; ++i) {
      const double r = std::sqrt(cos_ij(x, o.d, i, i));
      for (int a = 0; a < o.d; ++a) x[static_cast<std::size_t>(i) * o.d + a] = static_cast<float>(x[static_cast<std::size_t>(i) * o.d + a] / r);
    }
  };
  renorm();
  FlowTrace t;
  auto record = [&] {
    double sum = 0, energy = 0;
    const std::vector<int> label = cluster_labels(x, o.n, o.d, o.cluster_cos);
    const int clusters = label.empty() ? 0 : 1 + *std::max_element(label.begin(), label.end());
    for (int i = 0; i < o.n; ++i) {
      for (int j = 0; j < o.n; ++j) {
        const double c = cos_ij(x, o.d, i, j);
        if (j != i) sum += c;
        energy += std::exp(o.beta * c);
      }
    }
    t.clusters.push_back(clusters);
    t.mean_cos.push_back(o.n > 1 ? sum / (static_cast<double>(o.n) * (o.n - 1)) : 1.0);
    t.energy.push_back(energy / (2.0 * std::max(o.beta, 1e-30f) * o.n * o.n));
    if (o.keep_path) t.path.insert(t.path.end(), x.begin(), x.end());
  };
  record();
  for (int s = 0; s < o.steps; ++s) {
    const auto vel = flow_velocity(x, o.n, o.d, o.beta, o.unnormalised, q, k, v);
    for (std::size_t i = 0; i < nd; ++i) x[i] += o.dt * vel[i];  // Euler step, then back to the sphere
    renorm();
    record();
  }
  t.x = x;
  return t;
}

}  // namespace attend::graph
