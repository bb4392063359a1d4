// Attention as diffusion and flow: Markov operator, DEQ fixed points (plain vs Anderson),
// temperature softmax, Sinkhorn, token particles on the sphere; each against an independent
// double-precision computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
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

// Independent stationary distribution: rows of a normalised in long double, then Gaussian
// elimination (partial pivoting) on (I − Pᵀ) π = 0 with the last equation Σ π = 1.
std::vector<double> dense_stationary(const std::vector<double>& a, int n) {
  const std::size_t un = static_cast<std::size_t>(n);
  std::vector<long double> m(un * un), b(un, 0.0L);
  for (std::size_t i = 0; i < un; ++i) {
    long double s = 0;
    for (std::size_t j = 0; j < un; ++j) s += a[i * un + j];
    for (std::size_t j = 0; j < un; ++j) m[j * un + i] = (i == j ? 1.0L : 0.0L) - a[i * un + j] / s;
  }
  for (std::size_t i = 0; i < un; ++i) m[(un - 1) * un + i] = 1;
  b[un - 1] = 1;
  for (std::size_t c = 0; c < un; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < un; ++r)
      if (std::abs(m[r * un + c]) > std::abs(m[piv * un + c])) piv = r;
    for (std::size_t j = 0; j < un; ++j) std::swap(m[c * un + j], m[piv * un + j]);
    std::swap(b[c], b[piv]);
    for (std::size_t r = c + 1; r < un; ++r) {
      const long double f = m[r * un + c] / m[c * un + c];
      for (std::size_t j = c; j < un; ++j) m[r * un + j] -= f * m[c * un + j];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(un);
  for (std::size_t r = un; r-- > 0;) {
    long double s = b[r];
    for (std::size_t j = r + 1; j < un; ++j) s -= m[r * un + j] * x[j];
    x[r] = static_cast<double>(s / m[r * un + r]);
  }
  return x;
}

// On float32 attention matrices (rows sum to 1 only to ~1e-7), π* sums to 1, is a fixed point to
// 1e-6 and equals the dense solve.
TEST(GraphDiffusion, StationaryOnFloat32AttentionMatrices) {
  std::mt19937_64 rng(4);
  for (int c = 0; c < 40; ++c) {
    const int n = 2 + static_cast<int>(rng() % 90), d = 4 + static_cast<int>(rng() % 29);
    const float scale = 0.2f + static_cast<float>(rng() % 100) / 40.0f;
    const auto q = randn(static_cast<std::size_t>(n) * d, 100 + c), k = randn(static_cast<std::size_t>(n) * d, 200 + c);
    const auto a = attention_matrix(q, k, n, d, scale);
    const auto want = ref_softmax(q, k, n, n, d, scale);
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], want[i], 1e-5);  // float32 softmax
    const MarkovResult m = markov_stationary(a, n);
    EXPECT_EQ(m.iterations, 0);  // the direct solve
    double sum = 0, residual = 0;
    for (int j = 0; j < n; ++j) {
      double pa = 0;  // (π a)_j with a as given (float32 values)
      for (int i = 0; i < n; ++i) pa += m.pi[static_cast<std::size_t>(i)] * a[static_cast<std::size_t>(i) * n + j];
      residual = std::max(residual, std::abs(pa - m.pi[static_cast<std::size_t>(j)]));
      sum += m.pi[static_cast<std::size_t>(j)];
    }
    EXPECT_NEAR(sum, 1, 1e-12) << "case " << c;
    EXPECT_LE(residual, 1e-6) << "case " << c << " n " << n;
    const auto ref = dense_stationary(a, n);
    for (int j = 0; j < n; ++j) ASSERT_NEAR(m.pi[static_cast<std::size_t>(j)], ref[static_cast<std::size_t>(j)], 1e-10) << "case " << c;
    EXPECT_LT(m.lambda2, 1.0);
  }
  // Two states: λ2 = 1 − a − b (real), π = (b, a)/(a + b).
  const double a = 0.3, b = 0.1;
  const MarkovResult m = markov_stationary({1 - a, a, b, 1 - b}, 2);
  EXPECT_NEAR(m.lambda2, std::abs(1 - a - b), 1e-12);
  EXPECT_NEAR(m.lambda2_im, 0, 1e-15);
  EXPECT_NEAR(m.pi[0], b / (a + b), 1e-14);
  // Reducible (two closed classes): π* is not unique; the lazy iteration returns one stationary vector.
  const MarkovResult r = markov_stationary({1, 0, 0, 0, 0.5, 0.5, 0, 0.5, 0.5}, 3);
  EXPECT_GT(r.iterations, 0);  // the system is exactly singular here
  EXPECT_NEAR(r.pi[0] + r.pi[1] + r.pi[2], 1, 1e-12);
  EXPECT_NEAR(r.pi[1], r.pi[2], 1e-12);
  EXPECT_NEAR(r.lambda2, 1, 1e-12);  // a second eigenvalue 1: no gap
  EXPECT_THROW(markov_stationary({1, 0, 0}, 2), Error);
  EXPECT_THROW(markov_stationary({1, -0.5, 0.5, 1}, 2), Error);
  EXPECT_THROW(markov_stationary({0, 0, 0.5, 0.5}, 2), Error);
}

// The spectral gap where λ2 is a complex pair: a circulant chain P_ij = c_{(j − i) mod n} has the
// eigenvalues μ_k = Σ_j c_j e^{2πi jk/n} (closed form), here with its states permuted and its
// entries rounded to float32.
TEST(GraphDiffusion, SpectralGapWithComplexLambda2) {
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int complex_cases = 0;
  for (int c = 0; c < 20; ++c) {
    const int n = 3 + static_cast<int>(rng() % 40);
    std::vector<double> w(static_cast<std::size_t>(n));
    for (double& x : w) x = std::pow(u(rng), 3.0);  // skewed, so the spectrum is spread out
    double s = 0;
    for (double x : w) s += x;
    for (double& x : w) x = static_cast<double>(static_cast<float>(x / s));
    std::vector<int> perm(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<double> p(static_cast<std::size_t>(n) * n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        p[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)]) * n + perm[static_cast<std::size_t>(j)]] = w[static_cast<std::size_t>(((j - i) % n + n) % n)];
    double want = 0, want_im = 0;
    double sw = 0;
    for (double x : w) sw += x;  // float rounding: μ_0 = Σ w (the rows are renormalised, so divide by it)
    for (int k = 1; k < n; ++k) {
      std::complex<double> mu = 0;
      for (int j = 0; j < n; ++j) mu += w[static_cast<std::size_t>(j)] * std::polar(1.0, 2 * M_PI * j * k / n);
      mu /= sw;
      if (std::abs(mu) > want) want = std::abs(mu), want_im = std::abs(mu.imag());
    }
    const MarkovResult m = markov_stationary(p, n);
    EXPECT_NEAR(m.lambda2, want, 1e-10) << "case " << c << " n " << n;
    EXPECT_NEAR(m.lambda2_im, want_im, 1e-9);
    complex_cases += want_im > 1e-6;
    for (double x : m.pi) EXPECT_NEAR(x, 1.0 / n, 1e-12);  // doubly stochastic: uniform π*
  }
  EXPECT_GE(complex_cases, 15);
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
