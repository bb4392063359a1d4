// Attention as a Markov operator: the stationary distribution π* = π* P and the spectral gap
// 1 − |λ₂| of P, the row-normalised attention matrix. LAPACK (OpenBLAS's, through LAPACKE) does
// the linear algebra in double: dgesv for π*, dgeev for the eigenvalues (complex pairs included).
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>

#include "attend/graph.h"
#include "core/check.h"

namespace attend::graph {
namespace {

using Mat = std::vector<double>;  // row-major [n, n]

// π ← π P (row vector times matrix), then renormalised to Σ π = 1 in double.
void step(const Mat& p, int n, const std::vector<double>& pi, std::vector<double>& next) {
  std::fill(next.begin(), next.end(), 0.0);
  for (int i = 0; i < n; ++i) {
    const double w = pi[static_cast<std::size_t>(i)];
    const double* row = p.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(n);
    for (int j = 0; j < n; ++j) next[static_cast<std::size_t>(j)] += w * row[j];
  }
  const double s = std::accumulate(next.begin(), next.end(), 0.0);
  for (double& v : next) v /= s;
}

// π from the linear system (I − Pᵀ) πᵀ = 0 with its last equation replaced by Σ π = 1. Returns
// false when LAPACK finds the system singular (a reducible chain: π* is not unique).
bool solve_direct(const Mat& p, int n, std::vector<double>& pi) {
  const std::size_t un = static_cast<std::size_t>(n);
  Mat m(un * un);  // row-major: m[j][i] = δ_ij − P[i][j]
  for (std::size_t j = 0; j < un; ++j)
    for (std::size_t i = 0; i < un; ++i) m[j * un + i] = (i == j ? 1.0 : 0.0) - p[i * un + j];
  for (std::size_t i = 0; i < un; ++i) m[(un - 1) * un + i] = 1.0;
  pi.assign(un, 0.0);
  pi[un - 1] = 1.0;
  std::vector<lapack_int> ipiv(un);
  const lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, 1, m.data(), n, ipiv.data(), pi.data(), 1);
  if (info != 0) return false;
  for (double v : pi)
    if (!std::isfinite(v) || v < -1e-9) return false;
  for (double& v : pi) v = std::max(v, 0.0);  // clip rounding below zero, then renormalise
  const double s = std::accumulate(pi.begin(), pi.end(), 0.0);
  if (!(s > 0)) return false;
  for (double& v : pi) v /= s;
  std::vector<double> next(un);  // a nearly singular system can pass LU yet miss: check π P = π
  step(p, n, pi, next);
  for (std::size_t i = 0; i < un; ++i)
    if (std::abs(next[i] - pi[i]) > 1e-10) return false;
  return true;
}

}  // namespace

MarkovResult markov_stationary(const std::vector<double>& a, int n, double tol, int max_iter) {
  if (n < 1 || a.size() != static_cast<std::size_t>(n) * static_cast<std::size_t>(n))
    detail::fail("graph::markov_stationary", "a must be [n, n], n=", n, " size ", a.size());
  if (!(tol > 0) || max_iter < 1) detail::fail("graph::markov_stationary", "need tol > 0 and max_iter >= 1, got ", tol, ", ", max_iter);
  const std::size_t un = static_cast<std::size_t>(n);
  // P: the rows of a renormalised in double (float32 attention rows sum to 1 only to ~1e-7, which
  // would otherwise drift the iteration's total mass).
  Mat p(a);
  for (std::size_t i = 0; i < un; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < un; ++j) {
      const double v = p[i * un + j];
      if (!std::isfinite(v) || v < 0) detail::fail("graph::markov_stationary", "a[", i, ", ", j, "] = ", v, " is not a probability");
      s += v;
    }
    if (!(s > 0)) detail::fail("graph::markov_stationary", "row ", i, " of a sums to 0");
    for (std::size_t j = 0; j < un; ++j) p[i * un + j] /= s;
  }
  MarkovResult r;
  if (!solve_direct(p, n, r.pi)) {
    // Reducible chain: iterate the lazy chain (I + P) / 2 (same stationary vectors, aperiodic)
    // from the uniform distribution, renormalising each step in double.
    Mat lazy(p);
    for (double& v : lazy) v *= 0.5;
    for (std::size_t i = 0; i < un; ++i) lazy[i * un + i] += 0.5;
    std::vector<double> pi(un, 1.0 / n), next(un);
    for (r.iterations = 1; r.iterations <= max_iter; ++r.iterations) {
      step(lazy, n, pi, next);
      double diff = 0;
      for (std::size_t i = 0; i < un; ++i) diff += std::abs(next[i] - pi[i]);
      pi.swap(next);
      if (diff <= tol) break;
    }
    r.iterations = std::min(r.iterations, max_iter);
    r.pi = std::move(pi);
  }
  // Spectrum of P by LAPACK's real non-symmetric eigen-solver: λ₁ = 1 is the eigenvalue nearest 1;
  // λ₂ the largest in modulus among the others (a complex pair counts by its modulus).
  if (n > 1) {
    Mat m(p);
    std::vector<double> wr(un), wi(un);
    const lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', n, m.data(), n, wr.data(), wi.data(), nullptr, 1, nullptr, 1);
    if (info != 0) detail::fail("graph::markov_stationary", "LAPACK dgeev did not converge (info ", info, ") for n=", n);
    std::size_t one = 0;
    for (std::size_t i = 1; i < un; ++i)
      if (std::abs(std::complex<double>(wr[i] - 1, wi[i])) < std::abs(std::complex<double>(wr[one] - 1, wi[one]))) one = i;
    double best = -1;
    for (std::size_t i = 0; i < un; ++i) {
      if (i == one) continue;
      const double mod = std::abs(std::complex<double>(wr[i], wi[i]));
      if (mod > best) best = mod, r.lambda2 = mod, r.lambda2_re = wr[i], r.lambda2_im = std::abs(wi[i]);
    }
  }
  return r;
}

}  // namespace attend::graph
