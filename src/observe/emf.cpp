// EMF operators (the EMF model of "The Flow of Attention", Towards AI: relevance scoring M and content
// extraction F in the embedding space): M = W_Q·W_Kᵀ/√D and F = W_V·W_O per head, their spectra, composition
// between heads; residual-stream trajectories (PCA to 2-D) and clustering (mean pairwise cosine).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <random>

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

namespace {

// Makes each of the first `k` rows of vecs [k, e] have its largest-|x| entry positive.
void fix_signs(std::vector<double>& vecs, std::int64_t k, std::int64_t e) {
  for (std::int64_t c = 0; c < k; ++c) {
    double* v = vecs.data() + c * e;
    std::int64_t best = 0;
    for (std::int64_t a = 1; a < e; ++a)
      if (std::fabs(v[a]) > std::fabs(v[best])) best = a;
    if (v[best] < 0)
      for (std::int64_t a = 0; a < e; ++a) v[a] = -v[a];
  }
}

// out [pts, 2] = (states − mean) · axesᵀ, axes [2, e].
std::vector<double> project(Span<const float> states, const std::vector<double>& mean, const std::vector<double>& axes, std::int64_t pts,
                            std::int64_t e) {
  std::vector<double> out(static_cast<std::size_t>(pts * 2), 0.0);
  for (std::int64_t p = 0; p < pts; ++p)
    for (int c = 0; c < 2 && c < e; ++c) {
      double s = 0;
      for (std::int64_t a = 0; a < e; ++a)
        s += (states[static_cast<std::size_t>(p * e + a)] - mean[static_cast<std::size_t>(a)]) * axes[static_cast<std::size_t>(c * e + a)];
      out[static_cast<std::size_t>(p * 2 + c)] = s;
    }
  return out;
}

std::vector<double> column_mean(Span<const float> states, std::int64_t pts, std::int64_t e) {
  std::vector<double> mean(static_cast<std::size_t>(e), 0.0);
  for (std::int64_t p = 0; p < pts; ++p)
    for (std::int64_t c = 0; c < e; ++c) mean[static_cast<std::size_t>(c)] += states[static_cast<std::size_t>(p * e + c)];
  for (double& m : mean) m /= static_cast<double>(pts);
  return mean;
}

void check_states(const char* where, Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e) {
  if (stages < 1 || n < 1 || e < 1 || static_cast<std::int64_t>(states.size()) != stages * n * e)
    detail::fail(where, "states has ", states.size(), " values for [", stages, ", ", n, ", ", e, "]");
}

// Orthonormalises the k columns of z [e, k] (modified Gram–Schmidt, twice for stability).
void orthonormalise(std::vector<double>& z, std::int64_t e, std::int64_t k, std::mt19937_64& rng) {
  for (std::int64_t c = 0; c < k; ++c)
    for (int pass = 0; pass < 2; ++pass) {
      for (std::int64_t b = 0; b < c; ++b) {
        double dot = 0;
        for (std::int64_t a = 0; a < e; ++a) dot += z[static_cast<std::size_t>(a * k + c)] * z[static_cast<std::size_t>(a * k + b)];
        for (std::int64_t a = 0; a < e; ++a) z[static_cast<std::size_t>(a * k + c)] -= dot * z[static_cast<std::size_t>(a * k + b)];
      }
      double norm = 0;
      for (std::int64_t a = 0; a < e; ++a) norm += z[static_cast<std::size_t>(a * k + c)] * z[static_cast<std::size_t>(a * k + c)];
      norm = std::sqrt(norm);
      if (norm < 1e-300) {  // a column in the span of the others (rank-deficient data): a fresh random one
        std::normal_distribution<double> g;
        for (std::int64_t a = 0; a < e; ++a) z[static_cast<std::size_t>(a * k + c)] = g(rng);
        pass = -1;
        continue;
      }
      for (std::int64_t a = 0; a < e; ++a) z[static_cast<std::size_t>(a * k + c)] /= norm;
    }
}

}  // namespace

std::vector<double> pca_2d_dense(Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e) {
  check_states("pca_2d_dense", states, stages, n, e);
  if (e > 1024) detail::fail("pca_2d_dense", "width ", e, " too large for the dense eigen-solver (max 1024); use pca_2d");
  const std::int64_t pts = stages * n;
  const std::vector<double> mean = column_mean(states, pts, e);
  std::vector<double> cov(static_cast<std::size_t>(e * e), 0.0);
  for (std::int64_t p = 0; p < pts; ++p)
    for (std::int64_t a = 0; a < e; ++a) {
      const double xa = states[static_cast<std::size_t>(p * e + a)] - mean[static_cast<std::size_t>(a)];
      for (std::int64_t b = 0; b < e; ++b)
        cov[static_cast<std::size_t>(a * e + b)] += xa * (states[static_cast<std::size_t>(p * e + b)] - mean[static_cast<std::size_t>(b)]);
    }
  std::vector<double> vals, vecs;
  linalg::symmetric_eigen(cov, e, vals, vecs);
  fix_signs(vecs, std::min<std::int64_t>(2, e), e);
  return project(states, mean, vecs, pts, e);
}

std::vector<double> pca_2d(Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e) {
  check_states("pca_2d", states, stages, n, e);
  if (e <= 64) return pca_2d_dense(states, stages, n, e);
  // Block subspace iteration on the centred data X [pts, e]: Z ← orth(Xᵀ·X·Z), k = 8 columns, then
  // Rayleigh–Ritz on the k × k (XZ)ᵀ(XZ). Each step is two [pts, e] × [e, k] products.
  const std::int64_t pts = stages * n, k = std::min<std::int64_t>(8, e);
  const std::vector<double> mean = column_mean(states, pts, e);
  std::vector<double> x(static_cast<std::size_t>(pts * e));
  for (std::int64_t p = 0; p < pts; ++p)
    for (std::int64_t a = 0; a < e; ++a)
      x[static_cast<std::size_t>(p * e + a)] = states[static_cast<std::size_t>(p * e + a)] - mean[static_cast<std::size_t>(a)];
  std::mt19937_64 rng(20240611);
  std::normal_distribution<double> g;
  std::vector<double> z(static_cast<std::size_t>(e * k)), y(static_cast<std::size_t>(pts * k)), t(static_cast<std::size_t>(k * k));
  for (double& v : z) v = g(rng);
  orthonormalise(z, e, k, rng);
  std::vector<double> axes(static_cast<std::size_t>(2 * e), 0.0), prev;
  const int pe = static_cast<int>(e), pk = static_cast<int>(k), pp = static_cast<int>(pts);
  for (int it = 0; it < 200; ++it) {  // converges in tens of steps unless the top eigenvalues are (nearly) tied
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, pp, pk, pe, 1.0, x.data(), pe, z.data(), pk, 0.0, y.data(), pk);  // Y = X·Z
    // Rayleigh–Ritz: T = Yᵀ·Y; the top-2 Ritz vectors Z·u are the current axes.
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, pk, pk, pp, 1.0, y.data(), pk, y.data(), pk, 0.0, t.data(), pk);
    std::vector<double> vals, vecs;
    linalg::symmetric_eigen(t, k, vals, vecs);
    for (int c = 0; c < 2; ++c)
      for (std::int64_t a = 0; a < e; ++a) {
        double s = 0;
        for (std::int64_t b = 0; b < k; ++b) s += z[static_cast<std::size_t>(a * k + b)] * vecs[static_cast<std::size_t>(c * k + b)];
        axes[static_cast<std::size_t>(c * e + a)] = s;
      }
    fix_signs(axes, 2, e);
    if (!prev.empty()) {
      double worst = 0;  // 1 − |cos| between successive axes
      for (int c = 0; c < 2; ++c) {
        double dot = 0;
        for (std::int64_t a = 0; a < e; ++a) dot += axes[static_cast<std::size_t>(c * e + a)] * prev[static_cast<std::size_t>(c * e + a)];
        worst = std::max(worst, 1 - std::fabs(dot));
      }
      if (worst < 1e-13 && it > 4) break;
    }
    prev = axes;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, pe, pk, pp, 1.0, x.data(), pe, y.data(), pk, 0.0, z.data(), pk);  // Z = Xᵀ·Y
    orthonormalise(z, e, k, rng);
  }
  return project(states, mean, axes, pts, e);
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
