// Attention as diffusion (DEQ fixed point with Anderson acceleration; the Markov operator is
// markov.cpp) and as flow (temperature softmax, Sinkhorn, token particles on the sphere). Attention
// runs in attend::attention.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "attend/graph.h"
#include "attn_util.h"
#include "core/check.h"

namespace attend::graph {
namespace {

std::vector<float> identity(int n) {
  std::vector<float> e(static_cast<std::size_t>(n) * n, 0.0f);
  for (int i = 0; i < n; ++i) e[static_cast<std::size_t>(i) * n + i] = 1;
  return e;
}

// y = x w for x: [n, d], w: [d, d].
std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w, int n, int d) {
  std::vector<float> y(static_cast<std::size_t>(n) * d, 0.0f);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) {
      const float a = x[static_cast<std::size_t>(i) * d + k];
      for (int j = 0; j < d; ++j) y[static_cast<std::size_t>(i) * d + j] += a * w[static_cast<std::size_t>(k) * d + j];
    }
  return y;
}

double norm2(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

// Solve the small dense system a x = b (Gaussian elimination, partial pivoting); a: [m, m].
std::vector<double> solve_dense(std::vector<double> a, std::vector<double> b, int m) {
  for (int c = 0; c < m; ++c) {
    int piv = c;
    for (int r = c + 1; r < m; ++r)
      if (std::abs(a[static_cast<std::size_t>(r) * m + c]) > std::abs(a[static_cast<std::size_t>(piv) * m + c])) piv = r;
    for (int j = 0; j < m; ++j) std::swap(a[static_cast<std::size_t>(c) * m + j], a[static_cast<std::size_t>(piv) * m + j]);
    std::swap(b[static_cast<std::size_t>(c)], b[static_cast<std::size_t>(piv)]);
    const double p = a[static_cast<std::size_t>(c) * m + c];
    if (std::abs(p) < 1e-300) continue;
    for (int r = c + 1; r < m; ++r) {
      const double f = a[static_cast<std::size_t>(r) * m + c] / p;
      for (int j = c; j < m; ++j) a[static_cast<std::size_t>(r) * m + j] -= f * a[static_cast<std::size_t>(c) * m + j];
      b[static_cast<std::size_t>(r)] -= f * b[static_cast<std::size_t>(c)];
    }
  }
  std::vector<double> x(static_cast<std::size_t>(m), 0.0);
  for (int r = m - 1; r >= 0; --r) {
    double s = b[static_cast<std::size_t>(r)];
    for (int j = r + 1; j < m; ++j) s -= a[static_cast<std::size_t>(r) * m + j] * x[static_cast<std::size_t>(j)];
    const double p = a[static_cast<std::size_t>(r) * m + r];
    x[static_cast<std::size_t>(r)] = std::abs(p) < 1e-300 ? 0.0 : s / p;
  }
  return x;
}

}  // namespace

std::vector<double> attention_matrix(const std::vector<float>& q, const std::vector<float>& k, int n, int d, float scale) {
  if (n < 1 || d < 1 || q.size() != static_cast<std::size_t>(n) * d || k.size() != q.size())
    detail::fail("graph::attention_matrix", "q, k must be [n, d] with n, d >= 1; got n=", n, " d=", d, " sizes ", q.size(), ", ", k.size());
  const std::vector<float> a = internal::attend_rows(q, k, identity(n), n, n, d, n, scale);  // A·I = A
  return {a.begin(), a.end()};
}

std::vector<float> deq_apply(const DeqLayer& L, const std::vector<float>& z) {
  const std::size_t nd = static_cast<std::size_t>(L.n) * L.d;
  if (L.n < 1 || L.d < 1 || z.size() != nd || L.x.size() != nd || L.wq.size() != static_cast<std::size_t>(L.d) * L.d ||
      L.wk.size() != L.wq.size() || L.wv.size() != L.wq.size())
    detail::fail("graph::deq_apply", "z, x must be [n, d] and w* [d, d]; n=", L.n, " d=", L.d);
  const auto q = matmul(z, L.wq, L.n, L.d), k = matmul(z, L.wk, L.n, L.d), v = matmul(z, L.wv, L.n, L.d);
  auto out = internal::attend_rows(q, k, v, L.n, L.n, L.d, L.d, 1.0f / std::sqrt(static_cast<float>(L.d)));
  for (std::size_t i = 0; i < nd; ++i) out[i] = L.x[i] + L.gamma * out[i];
  return out;
}

DeqResult deq_solve(const DeqLayer& L, double tol, int max_iter, int m) {
  if (m < 0 || max_iter < 1) detail::fail("graph::deq_solve", "need anderson_m >= 0 and max_iter >= 1, got ", m, ", ", max_iter);
  DeqResult r;
  std::vector<float> z = L.x;
  std::vector<std::vector<double>> gs, fs;  // history of residuals g_k = f(z_k) − z_k and f(z_k)
  for (int it = 0; it < max_iter; ++it) {
    const std::vector<float> f = deq_apply(L, z);
    std::vector<double> g(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) g[i] = static_cast<double>(f[i]) - z[i];
    double gn = 0;
    for (double v : g) gn += v * v;
    r.residuals.push_back(std::sqrt(gn) / std::max(norm2(f), 1e-30));
    if (r.residuals.back() <= tol) { r.converged = true; z = f; break; }
    if (m == 0) { z = f; continue; }
    gs.emplace_back(g);
    fs.emplace_back(f.begin(), f.end());
    if (static_cast<int>(gs.size()) > m) gs.erase(gs.begin()), fs.erase(fs.begin());
    // Anderson (type II): α = argmin ||Σ α_k g_k|| with Σ α_k = 1, via the regularised normal
    // equations [G Gᵀ + λI, 1; 1ᵀ, 0]; z = Σ α_k f_k.
    const int h = static_cast<int>(gs.size()), s = h + 1;
    std::vector<double> a(static_cast<std::size_t>(s) * s, 0.0), b(static_cast<std::size_t>(s), 0.0);
    for (int i = 0; i < h; ++i) {
      for (int j = 0; j < h; ++j)
        a[static_cast<std::size_t>(i) * s + j] = std::inner_product(gs[i].begin(), gs[i].end(), gs[j].begin(), 0.0);
      a[static_cast<std::size_t>(i) * s + i] += 1e-10 * (1 + a[static_cast<std::size_t>(i) * s + i]);
      a[static_cast<std::size_t>(i) * s + h] = a[static_cast<std::size_t>(h) * s + i] = 1;
    }
    b[static_cast<std::size_t>(h)] = 1;
    const auto alpha = solve_dense(a, b, s);
    for (std::size_t i = 0; i < z.size(); ++i) {
      double v = 0;
      for (int k = 0; k < h; ++k) v += alpha[static_cast<std::size_t>(k)] * fs[static_cast<std::size_t>(k)][i];
      z[i] = static_cast<float>(v);
    }
  }
  r.z = z;
  return r;
}

std::vector<double> softmax_temperature(const std::vector<float>& s, int rows, int cols, float temperature) {
  if (rows < 1 || cols < 1 || s.size() != static_cast<std::size_t>(rows) * cols || !(temperature > 0))
    detail::fail("graph::softmax_temperature", "s must be [rows, cols] and temperature > 0; rows=", rows, " cols=", cols, " T=", temperature);
  // Rows of s as queries against one-hot keys: q_i·e_j = s_ij; scale 1/T; V = I returns the weights.
  const auto keys = identity(cols);
  const auto p = internal::attend_rows(s, keys, keys, rows, cols, cols, cols, 1.0f / temperature);
  return {p.begin(), p.end()};
}

SinkhornResult sinkhorn(const std::vector<float>& s, int n, float temperature, int iterations) {
  if (iterations < 1) detail::fail("graph::sinkhorn", "iterations must be >= 1, got ", iterations);
  SinkhornResult r;
  r.p = softmax_temperature(s, n, n, temperature);  // round 1: row normalisation = softmax
  const std::size_t un = static_cast<std::size_t>(n);
  auto deviation = [&] {
    double dev = 0;
    for (std::size_t i = 0; i < un; ++i) {
      double row = 0, col = 0;
      for (std::size_t j = 0; j < un; ++j) row += r.p[i * un + j], col += r.p[j * un + i];
      dev = std::max({dev, std::abs(row - 1), std::abs(col - 1)});
    }
    return dev;
  };
  r.deviation.push_back(deviation());
  std::vector<double> sums(un);
  for (int it = 1; it < iterations; ++it) {
    std::fill(sums.begin(), sums.end(), 0.0);  // columns, then rows
    for (std::size_t i = 0; i < un; ++i)
      for (std::size_t j = 0; j < un; ++j) sums[j] += r.p[i * un + j];
    for (std::size_t i = 0; i < un; ++i)
      for (std::size_t j = 0; j < un; ++j) r.p[i * un + j] /= sums[j];
    for (std::size_t i = 0; i < un; ++i) {
      const double row = std::accumulate(r.p.begin() + static_cast<std::ptrdiff_t>(i * un), r.p.begin() + static_cast<std::ptrdiff_t>((i + 1) * un), 0.0);
      for (std::size_t j = 0; j < un; ++j) r.p[i * un + j] /= row;
    }
    r.deviation.push_back(deviation());
  }
  return r;
}

}  // namespace attend::graph
