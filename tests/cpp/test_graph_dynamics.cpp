// Attention as diffusion and flow: Markov operator, DEQ fixed points (plain vs Anderson),
// temperature softmax, Sinkhorn, token particles on the sphere; each against an independent
// double-precision computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "attend/attend.h"

namespace attend::graph {
namespace {

std::vector<float> randn(std::size_t n, std::uint64_t seed, float s = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, s);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// softmax_j(scale · q_i·k_j) in double.
std::vector<double> ref_softmax(const std::vector<float>& q, const std::vector<float>& k, int n, int m, int d, double scale) {
  std::vector<double> p(static_cast<std::size_t>(n) * m);
  for (int i = 0; i < n; ++i) {
    double mx = -1e300, z = 0;
    for (int j = 0; j < m; ++j) {
      double s = 0;
      for (int a = 0; a < d; ++a) s += static_cast<double>(q[static_cast<std::size_t>(i) * d + a]) * k[static_cast<std::size_t>(j) * d + a];
      p[static_cast<std::size_t>(i) * m + j] = s * scale;
      mx = std::max(mx, s * scale);
    }
    for (int j = 0; j < m; ++j) z += (p[static_cast<std::size_t>(i) * m + j] = std::exp(p[static_cast<std::size_t>(i) * m + j] - mx));
    for (int j = 0; j < m; ++j) p[static_cast<std::size_t>(i) * m + j] /= z;
  }
  return p;
}

TEST(GraphDiffusion, AttentionMatrixMarkov) {
  for (int n : {1, 7, 65}) {
    const int d = 8;
    const auto q = randn(static_cast<std::size_t>(n) * d, 1), k = randn(static_cast<std::size_t>(n) * d, 2);
    const auto a = attention_matrix(q, k, n, d, 0.5f);
    const auto want = ref_softmax(q, k, n, n, d, 0.5);
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], want[i], 1e-6);
    const MarkovResult m = markov_stationary(want, n);
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      double pa = 0;  // (π A)_j
      for (int i = 0; i < n; ++i) pa += m.pi[static_cast<std::size_t>(i)] * want[static_cast<std::size_t>(i) * n + j];
      EXPECT_NEAR(pa, m.pi[static_cast<std::size_t>(j)], 1e-11);
      sum += m.pi[static_cast<std::size_t>(j)];
    }
    EXPECT_NEAR(sum, 1, 1e-12);
    EXPECT_LT(m.lambda2, 1.0);
  }
  // Two states: λ2 = 1 − a − b, π = (b, a)/(a + b).
  const double a = 0.3, b = 0.1;
  const MarkovResult m = markov_stationary({1 - a, a, b, 1 - b}, 2);
  EXPECT_NEAR(m.lambda2, std::abs(1 - a - b), 1e-9);
  EXPECT_NEAR(m.pi[0], b / (a + b), 1e-10);
  EXPECT_THROW(markov_stationary({1, 0, 0}, 2), Error);
}

DeqLayer layer(int n, int d) {
  DeqLayer l;
  l.n = n, l.d = d;
  l.x = randn(static_cast<std::size_t>(n) * d, 5);
  l.wq = randn(static_cast<std::size_t>(d) * d, 6, 0.3f);
  l.wk = randn(static_cast<std::size_t>(d) * d, 7, 0.3f);
  l.wv = randn(static_cast<std::size_t>(d) * d, 8, 0.2f);
  l.gamma = 0.85f;
  return l;
}

TEST(GraphDiffusion, DeqAndersonMatchesPlainIteration) {
  const DeqLayer l = layer(33, 16);
  const DeqResult plain = deq_solve(l, 1e-6, 2000, 0), anderson = deq_solve(l, 1e-6, 2000, 5);
  std::printf("plain %zu its (last %.3g), anderson %zu its (last %.3g)\n", plain.residuals.size(), plain.residuals.back(), anderson.residuals.size(), anderson.residuals.back());
  ASSERT_TRUE(plain.converged);
  ASSERT_TRUE(anderson.converged);
  EXPECT_LT(anderson.residuals.size(), plain.residuals.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < plain.z.size(); ++i) num += std::pow(plain.z[i] - anderson.z[i], 2), den += std::pow(plain.z[i], 2);
  EXPECT_LT(std::sqrt(num / den), 1e-5);
  // Independent check of the fixed point: the layer in double precision maps z* to itself.
  const int n = l.n, d = l.d;
  std::vector<float> q(plain.z.size()), k(q.size()), v(q.size());
  for (int i = 0; i < n; ++i)
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b) {
        const float z = plain.z[static_cast<std::size_t>(i) * d + b];
        q[static_cast<std::size_t>(i) * d + a] += z * l.wq[static_cast<std::size_t>(b) * d + a];
        k[static_cast<std::size_t>(i) * d + a] += z * l.wk[static_cast<std::size_t>(b) * d + a];
        v[static_cast<std::size_t>(i) * d + a] += z * l.wv[static_cast<std::size_t>(b) * d + a];
      }
  const auto p = ref_softmax(q, k, n, n, d, 1 / std::sqrt(16.0));
  double res = 0, nz = 0;
  for (int i = 0; i < n; ++i)
    for (int a = 0; a < d; ++a) {
      double o = 0;
      for (int j = 0; j < n; ++j) o += p[static_cast<std::size_t>(i) * n + j] * v[static_cast<std::size_t>(j) * d + a];
      const double f = l.x[static_cast<std::size_t>(i) * d + a] + l.gamma * o, z = plain.z[static_cast<std::size_t>(i) * d + a];
      res += (f - z) * (f - z), nz += z * z;
    }
  EXPECT_LT(std::sqrt(res / nz), 1e-5);
  EXPECT_THROW(deq_solve(l, 1e-6, 0, 0), Error);
}

TEST(GraphFlow, SoftmaxTemperatureAndSinkhorn) {
  const int n = 17;
  const auto s = randn(static_cast<std::size_t>(n) * n, 9, 2);
  std::vector<float> eye(static_cast<std::size_t>(n) * n, 0);
  for (int i = 0; i < n; ++i) eye[static_cast<std::size_t>(i) * n + i] = 1;
  for (float t : {0.25f, 1.0f, 4.0f}) {
    const auto p = softmax_temperature(s, n, n, t);
    const auto want = ref_softmax(s, eye, n, n, n, 1.0 / t);
    for (std::size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(p[i], want[i], 1e-6);
  }
  const auto one = sinkhorn(s, n, 0.5f, 1);
  const auto sm = softmax_temperature(s, n, n, 0.5f);
  EXPECT_EQ(one.p, sm);  // one iteration is the softmax
  const auto many = sinkhorn(s, n, 0.5f, 300);
  EXPECT_LT(many.deviation.back(), 1e-8);
  for (std::size_t i = 1; i < many.deviation.size(); ++i) EXPECT_LE(many.deviation[i], many.deviation[0] + 1e-12);
  // Independent Sinkhorn in the log domain: P = diag(a) K diag(b), K = exp(s/τ).
  std::vector<double> la(static_cast<std::size_t>(n), 0), lb(static_cast<std::size_t>(n), 0);
  auto lk = [&](int i, int j) { return s[static_cast<std::size_t>(i) * n + j] / 0.5; };
  for (int it = 0; it < 2000; ++it) {
    for (int i = 0; i < n; ++i) {
      double z = 0;
      for (int j = 0; j < n; ++j) z += std::exp(lk(i, j) + lb[static_cast<std::size_t>(j)]);
      la[static_cast<std::size_t>(i)] = -std::log(z);
    }
    for (int j = 0; j < n; ++j) {
      double z = 0;
      for (int i = 0; i < n; ++i) z += std::exp(lk(i, j) + la[static_cast<std::size_t>(i)]);
      lb[static_cast<std::size_t>(j)] = -std::log(z);
    }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      EXPECT_NEAR(many.p[static_cast<std::size_t>(i) * n + j], std::exp(lk(i, j) + la[static_cast<std::size_t>(i)] + lb[static_cast<std::size_t>(j)]), 1e-5);
  EXPECT_THROW(softmax_temperature(s, n, n, 0), Error);
}

TEST(GraphFlow, VelocityMatchesDirectSum) {
  const int n = 9, d = 4;
  auto x = randn(static_cast<std::size_t>(n) * d, 12);
  for (int i = 0; i < n; ++i) {
    double r = 0;
    for (int a = 0; a < d; ++a) r += x[static_cast<std::size_t>(i) * d + a] * x[static_cast<std::size_t>(i) * d + a];
    for (int a = 0; a < d; ++a) x[static_cast<std::size_t>(i) * d + a] /= static_cast<float>(std::sqrt(r));
  }
  for (bool un : {false, true}) {
    const float beta = 2;
    const auto v = flow_velocity(x, n, d, beta, un, {}, {}, {});
    for (int i = 0; i < n; ++i) {
      std::vector<double> u(static_cast<std::size_t>(d), 0.0);
      double z = 0;
      for (int j = 0; j < n; ++j) {
        double c = 0;
        for (int a = 0; a < d; ++a) c += static_cast<double>(x[static_cast<std::size_t>(i) * d + a]) * x[static_cast<std::size_t>(j) * d + a];
        const double w = std::exp(beta * c);
        z += w;
        for (int a = 0; a < d; ++a) u[static_cast<std::size_t>(a)] += w * x[static_cast<std::size_t>(j) * d + a];
      }
      double dp = 0;
      for (int a = 0; a < d; ++a) u[static_cast<std::size_t>(a)] /= un ? n : z, dp += u[static_cast<std::size_t>(a)] * x[static_cast<std::size_t>(i) * d + a];
      for (int a = 0; a < d; ++a)
        EXPECT_NEAR(v[static_cast<std::size_t>(i) * d + a], u[static_cast<std::size_t>(a)] - dp * x[static_cast<std::size_t>(i) * d + a], 1e-5);
    }
  }
}

TEST(GraphFlow, EnergyNeverDecreasesAndTokensCluster) {
  FlowOptions o;
  o.n = 24, o.d = 3, o.beta = 1, o.dt = 0.05f, o.steps = 300, o.unnormalised = true;
  const FlowTrace t = token_flow(o);
  // Positions are float, so the energy carries ~1e-7 relative rounding once the flow has settled.
  for (std::size_t s = 1; s < t.energy.size(); ++s) ASSERT_GE(t.energy[s], t.energy[s - 1] - 1e-6 * t.energy[s - 1]) << "step " << s;
  EXPECT_GT(t.energy.back(), t.energy.front());
  EXPECT_GT(t.mean_cos.back(), t.mean_cos.front());
  EXPECT_LT(t.clusters.back(), t.clusters.front());
  o.unnormalised = false, o.identity = false, o.steps = 20;
  const FlowTrace r = token_flow(o);
  EXPECT_EQ(r.clusters.size(), 21u);
  o.d = 1;
  EXPECT_THROW(token_flow(o), Error);
}

}  // namespace
}  // namespace attend::graph
