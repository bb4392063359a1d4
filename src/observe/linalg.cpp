// Cyclic Jacobi eigen-solver and small matrix helpers (double precision; obviously correct first).
#include "observe/linalg.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace attend::observe::linalg {

void symmetric_eigen(Span<const double> a_in, std::int64_t m, std::vector<double>& values, std::vector<double>& vecs) {
  std::vector<double> a(a_in.begin(), a_in.end());
  std::vector<double> v(static_cast<std::size_t>(m * m), 0.0);
  auto at = [m](std::vector<double>& x, std::int64_t i, std::int64_t j) -> double& { return x[static_cast<std::size_t>(i * m + j)]; };
  for (std::int64_t i = 0; i < m; ++i) at(v, i, i) = 1;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0, diag = 0;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < m; ++j) (i == j ? diag : off) += at(a, i, j) * at(a, i, j);
    if (off <= 1e-24 * std::max(diag, 1e-300)) break;
    for (std::int64_t p = 0; p < m; ++p)
      for (std::int64_t q = p + 1; q < m; ++q) {
        const double apq = at(a, p, q);
        if (std::fabs(apq) < 1e-300) continue;
        // rotation zeroing a_pq: tan(2θ) = 2a_pq / (a_qq − a_pp)
        const double theta = (at(a, q, q) - at(a, p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::int64_t k = 0; k < m; ++k) {  // columns p, q
          const double akp = at(a, k, p), akq = at(a, k, q);
          at(a, k, p) = c * akp - s * akq;
          at(a, k, q) = s * akp + c * akq;
        }
        for (std::int64_t k = 0; k < m; ++k) {  // rows p, q
          const double apk = at(a, p, k), aqk = at(a, q, k);
          at(a, p, k) = c * apk - s * aqk;
          at(a, q, k) = s * apk + c * aqk;
        }
        for (std::int64_t k = 0; k < m; ++k) {
          const double vkp = at(v, k, p), vkq = at(v, k, q);
          at(v, k, p) = c * vkp - s * vkq;
          at(v, k, q) = s * vkp + c * vkq;
        }
      }
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return at(a, x, x) > at(a, y, y); });
  values.resize(static_cast<std::size_t>(m));
  vecs.resize(static_cast<std::size_t>(m * m));
  for (std::int64_t c = 0; c < m; ++c) {
    const std::int64_t src = order[static_cast<std::size_t>(c)];
    values[static_cast<std::size_t>(c)] = at(a, src, src);
    for (std::int64_t i = 0; i < m; ++i) vecs[static_cast<std::size_t>(c * m + i)] = at(v, i, src);
  }
}

std::vector<double> matmul(Span<const double> a, Span<const double> b, std::int64_t r, std::int64_t k, std::int64_t c) {
  std::vector<double> out(static_cast<std::size_t>(r * c), 0.0);
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t t = 0; t < k; ++t) {
      const double x = a[static_cast<std::size_t>(i * k + t)];
      if (x == 0) continue;
      for (std::int64_t j = 0; j < c; ++j) out[static_cast<std::size_t>(i * c + j)] += x * b[static_cast<std::size_t>(t * c + j)];
    }
  return out;
}

double frobenius(Span<const double> a) {
  double s = 0;
  for (double x : a) s += x * x;
  return std::sqrt(s);
}

std::vector<double> qr_r(Span<const double> a, std::int64_t rows, std::int64_t cols) {
  // Column-major copy: each reflection works down contiguous columns.
  std::vector<double> c(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) c[static_cast<std::size_t>(j * rows + i)] = a[static_cast<std::size_t>(i * cols + j)];
  std::vector<double> v(static_cast<std::size_t>(rows));
  for (std::int64_t k = 0; k < cols && k < rows; ++k) {
    double* ck = c.data() + k * rows;
    double norm = 0;
    for (std::int64_t i = k; i < rows; ++i) norm += ck[i] * ck[i];
    norm = std::sqrt(norm);
    if (norm == 0) continue;
    const double alpha = ck[k] > 0 ? -norm : norm;  // H·x = alpha·e_k, v = x − alpha·e_k (no cancellation)
    double vv = 0;
    for (std::int64_t i = k; i < rows; ++i) {
      v[static_cast<std::size_t>(i)] = ck[i] - (i == k ? alpha : 0.0);
      vv += v[static_cast<std::size_t>(i)] * v[static_cast<std::size_t>(i)];
    }
    if (vv == 0) continue;
    for (std::int64_t j = k; j < cols; ++j) {  // column j −= 2 v (vᵀ c_j) / (vᵀ v)
      double* cj = c.data() + j * rows;
      double dot = 0;
      for (std::int64_t i = k; i < rows; ++i) dot += v[static_cast<std::size_t>(i)] * cj[i];
      const double f = 2 * dot / vv;
      for (std::int64_t i = k; i < rows; ++i) cj[i] -= f * v[static_cast<std::size_t>(i)];
    }
  }
  std::vector<double> r(static_cast<std::size_t>(cols * cols), 0.0);
  for (std::int64_t i = 0; i < cols && i < rows; ++i)
    for (std::int64_t j = i; j < cols; ++j) r[static_cast<std::size_t>(i * cols + j)] = c[static_cast<std::size_t>(j * rows + i)];
  return r;
}

std::vector<double> small_singular_values(Span<const double> a, std::int64_t m) {
  // One-sided Jacobi (Hestenes): rotate column pairs until all are orthogonal; σ = column norms.
  std::vector<double> u(static_cast<std::size_t>(m * m));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < m; ++j) u[static_cast<std::size_t>(j * m + i)] = a[static_cast<std::size_t>(i * m + j)];  // column-major
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (std::int64_t p = 0; p < m; ++p)
      for (std::int64_t q = p + 1; q < m; ++q) {
        double* up = u.data() + p * m;
        double* uq = u.data() + q * m;
        double alpha = 0, beta = 0, gamma = 0;
        for (std::int64_t i = 0; i < m; ++i) {
          alpha += up[i] * up[i];
          beta += uq[i] * uq[i];
          gamma += up[i] * uq[i];
        }
        if (std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta) || gamma == 0) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        const double cs = 1 / std::sqrt(1 + t * t), sn = cs * t;
        for (std::int64_t i = 0; i < m; ++i) {
          const double x = up[i], y = uq[i];
          up[i] = cs * x - sn * y;
          uq[i] = sn * x + cs * y;
        }
      }
    if (!rotated) break;
  }
  std::vector<double> s(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) {
    double n2 = 0;
    for (std::int64_t i = 0; i < m; ++i) n2 += u[static_cast<std::size_t>(j * m + i)] * u[static_cast<std::size_t>(j * m + i)];
    s[static_cast<std::size_t>(j)] = std::sqrt(n2);
  }
  std::sort(s.begin(), s.end(), std::greater<double>());
  return s;
}

}  // namespace attend::observe::linalg
