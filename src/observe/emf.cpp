// EMF operators (the EMF model of "The Flow of Attention", Towards AI: relevance scoring M and content
// extraction F in the embedding space): M = W_Q·W_Kᵀ/√D and F = W_V·W_O per head, their spectra, composition
// between heads; residual-stream trajectories (PCA to 2-D) and clustering (mean pairwise cosine).
#include <algorithm>
#include <cmath>

#include "attend/observe_metrics.h"
#include "core/check.h"
#include "observe/linalg.h"

namespace attend::observe {
namespace {

std::vector<double> to_double(const std::vector<float>& x) { return {x.begin(), x.end()}; }

std::vector<double> transpose(Span<const double> a, std::int64_t r, std::int64_t c) {
  std::vector<double> t(a.size());
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < c; ++j) t[static_cast<std::size_t>(j * r + i)] = a[static_cast<std::size_t>(i * c + j)];
  return t;
}

}  // namespace

std::vector<double> singular_values(Span<const double> a, std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < 0 || static_cast<std::int64_t>(a.size()) != rows * cols)
    detail::fail("singular_values", "matrix has ", a.size(), " entries for [", rows, ", ", cols, "]");
  // σ = √eig(AᵀA) (fine for the small, well-scaled operators here; tiny σ lose relative accuracy).
  const auto at = transpose(a, rows, cols);
  const auto gram = linalg::matmul(at, a, cols, rows, cols);
  std::vector<double> vals, vecs;
  linalg::symmetric_eigen(gram, cols, vals, vecs);
  for (double& v : vals) v = std::sqrt(std::max(0.0, v));
  return vals;
}

HeadOperators head_operators(const HeadWeights& w) {
  const std::int64_t e = w.d_model, d = w.head_dim, dv = w.v_dim;
  if (e < 1 || d < 1 || dv < 1 || static_cast<std::int64_t>(w.wq.size()) != e * d || static_cast<std::int64_t>(w.wk.size()) != e * d ||
      static_cast<std::int64_t>(w.wv.size()) != e * dv || static_cast<std::int64_t>(w.wo.size()) != dv * e)
    detail::fail("head_operators", "weights do not match E=", e, " D=", d, " Dv=", dv, " (wq ", w.wq.size(), ", wk ", w.wk.size(),
                 ", wv ", w.wv.size(), ", wo ", w.wo.size(), ")");
  HeadOperators op;
  const auto wq = to_double(w.wq), wk = to_double(w.wk), wv = to_double(w.wv), wo = to_double(w.wo);
  op.m = linalg::matmul(wq, transpose(wk, e, d), e, d, e);
  const double inv = 1.0 / std::sqrt(static_cast<double>(d));
  for (double& x : op.m) x *= inv;
  op.f = linalg::matmul(wv, wo, e, dv, e);
  op.m_singular = singular_values(op.m, e, e);
  op.f_singular = singular_values(op.f, e, e);
  double sym = 0, anti = 0;
  for (std::int64_t i = 0; i < e; ++i)
    for (std::int64_t j = 0; j < e; ++j) {
      const double a = op.m[static_cast<std::size_t>(i * e + j)], b = op.m[static_cast<std::size_t>(j * e + i)];
      sym += 0.25 * (a + b) * (a + b);
      anti += 0.25 * (a - b) * (a - b);
    }
  op.m_symmetric_norm = std::sqrt(sym);
  op.m_antisymmetric_norm = std::sqrt(anti);
  return op;
}

Composition composition(const HeadOperators& earlier, const HeadOperators& later) {
  const auto e = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(earlier.f.size()))));
  if (e * e != static_cast<std::int64_t>(earlier.f.size()) || later.m.size() != earlier.f.size() || later.f.size() != earlier.f.size())
    detail::fail("composition", "operators of different widths (", earlier.f.size(), " vs ", later.m.size(), " entries)");
  const double nf1 = linalg::frobenius(earlier.f), nm2 = linalg::frobenius(later.m), nf2 = linalg::frobenius(later.f);
  auto ratio = [](double num, double den) { return den > 0 ? num / den : 0.0; };
  Composition c;
  c.q = ratio(linalg::frobenius(linalg::matmul(earlier.f, later.m, e, e, e)), nf1 * nm2);
  c.k = ratio(linalg::frobenius(linalg::matmul(later.m, transpose(earlier.f, e, e), e, e, e)), nm2 * nf1);
  c.v = ratio(linalg::frobenius(linalg::matmul(earlier.f, later.f, e, e, e)), nf1 * nf2);
  return c;
}

std::vector<double> pca_2d(Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e) {
  const std::int64_t pts = stages * n;
  if (stages < 1 || n < 1 || e < 1 || static_cast<std::int64_t>(states.size()) != pts * e)
    detail::fail("pca_2d", "states has ", states.size(), " values for [", stages, ", ", n, ", ", e, "]");
  if (e > 1024) detail::fail("pca_2d", "width ", e, " too large for the dense eigen-solver (max 1024)");
  std::vector<double> mean(static_cast<std::size_t>(e), 0.0), cov(static_cast<std::size_t>(e * e), 0.0);
  for (std::int64_t p = 0; p < pts; ++p)
    for (std::int64_t c = 0; c < e; ++c) mean[static_cast<std::size_t>(c)] += states[static_cast<std::size_t>(p * e + c)] / static_cast<double>(pts);
  for (std::int64_t p = 0; p < pts; ++p)
    for (std::int64_t a = 0; a < e; ++a) {
      const double xa = states[static_cast<std::size_t>(p * e + a)] - mean[static_cast<std::size_t>(a)];
      for (std::int64_t b = 0; b < e; ++b)
        cov[static_cast<std::size_t>(a * e + b)] += xa * (states[static_cast<std::size_t>(p * e + b)] - mean[static_cast<std::size_t>(b)]);
    }
  std::vector<double> vals, vecs;
  linalg::symmetric_eigen(cov, e, vals, vecs);
  std::vector<double> out(static_cast<std::size_t>(pts * 2), 0.0);
  for (std::int64_t p = 0; p < pts; ++p)
    for (int c = 0; c < 2 && c < e; ++c) {
      double s = 0;
      for (std::int64_t a = 0; a < e; ++a)
        s += (states[static_cast<std::size_t>(p * e + a)] - mean[static_cast<std::size_t>(a)]) * vecs[static_cast<std::size_t>(c * e + a)];
      out[static_cast<std::size_t>(p * 2 + c)] = s;
    }
  return out;
}

double mean_pairwise_cosine(Span<const float> x, std::int64_t n, std::int64_t e) {
  if (n < 1 || e < 1 || static_cast<std::int64_t>(x.size()) != n * e)
    detail::fail("mean_pairwise_cosine", "x has ", x.size(), " values for [", n, ", ", e, "]");
  if (n == 1) return 1.0;
  std::vector<double> norm(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t c = 0; c < e; ++c) norm[static_cast<std::size_t>(i)] += static_cast<double>(x[static_cast<std::size_t>(i * e + c)]) * x[static_cast<std::size_t>(i * e + c)];
    norm[static_cast<std::size_t>(i)] = std::sqrt(norm[static_cast<std::size_t>(i)]);
  }
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      double dot = 0;
      for (std::int64_t c = 0; c < e; ++c) dot += static_cast<double>(x[static_cast<std::size_t>(i * e + c)]) * x[static_cast<std::size_t>(j * e + c)];
      const double den = norm[static_cast<std::size_t>(i)] * norm[static_cast<std::size_t>(j)];
      sum += den > 0 ? dot / den : 0.0;
    }
  return sum / (0.5 * static_cast<double>(n) * static_cast<double>(n - 1));
}

}  // namespace attend::observe
