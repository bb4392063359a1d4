// Metrics over captured attention: entropy, distances, decay, head types, head similarity.
#include <algorithm>
#include <cmath>

#include "attend/observe_metrics.h"
#include "core/check.h"
#include "observe/linalg.h"

namespace attend::observe {
namespace {

void check_square(const char* where, Span<const float> a, std::int64_t n) {
  if (n < 0 || static_cast<std::int64_t>(a.size()) != n * n)
    detail::fail(where, "matrix has ", a.size(), " entries, expected n*n with n=", n);
}

}  // namespace

float normalized_entropy(const RowStats& s) {
  if (s.visible <= 1 || !(s.lse > -INFINITY)) return 0.0f;
  return s.entropy / std::log(static_cast<float>(s.visible));
}

float head_entropy(Span<const RowStats> rows) {
  double sum = 0;
  std::int64_t count = 0;
  for (const RowStats& s : rows)
    if (s.visible > 1) { sum += normalized_entropy(s); ++count; }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
}

float sink_score(Span<const RowStats> rows) {
  double sum = 0;
  std::int64_t count = 0;
  for (const RowStats& s : rows)
    if (s.visible > 0) { sum += s.sink_mass; ++count; }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
}

std::vector<double> distance_histogram(Span<const float> a, std::int64_t n, Span<const int> edges) {
  check_square("distance_histogram", a, n);
  if (edges.empty() || edges[0] != 0 || !std::is_sorted(edges.begin(), edges.end()))
    detail::fail("distance_histogram", "edges must be ascending and start at 0 (got ", edges.size(), " edges)");
  std::vector<double> hist(edges.size(), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const auto d = static_cast<int>(std::llabs(i - j));
      const auto b = static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), d) - edges.begin()) - 1;
      hist[b] += a[static_cast<std::size_t>(i * n + j)];
    }
  for (double& h : hist) h /= n > 0 ? static_cast<double>(n) : 1.0;
  return hist;
}

std::vector<double> decay_by_distance(Span<const float> a, std::int64_t n) {
  check_square("decay_by_distance", a, n);
  std::vector<double> curve(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t d = 0; d < n; ++d) {
    double sum = 0;
    for (std::int64_t i = d; i < n; ++i) sum += a[static_cast<std::size_t>(i * n + i - d)];
    curve[static_cast<std::size_t>(d)] = sum / static_cast<double>(n - d);
  }
  return curve;
}

std::vector<double> token_share(Span<const float> a, std::int64_t n, std::int64_t key) {
  check_square("token_share", a, n);
  if (key < 0 || key >= n) detail::fail("token_share", "key ", key, " outside [0, ", n, ")");
  std::vector<double> share;
  for (std::int64_t i = key; i < n; ++i) share.push_back(a[static_cast<std::size_t>(i * n + key)]);
  return share;
}

HeadTypeScores head_type_scores(Span<const float> a, Span<const int> tokens) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  check_square("head_type_scores", a, n);
  HeadTypeScores s;
  std::int64_t dup_rows = 0, ind_rows = 0;
  for (std::int64_t i = 1; i < n; ++i) s.previous_token += a[static_cast<std::size_t>(i * n + i - 1)];
  if (n > 1) s.previous_token /= static_cast<double>(n - 1);
  for (std::int64_t i = 0; i < n; ++i) {
    double dup = 0, ind = 0;
    bool has_dup = false, has_ind = false;
    for (std::int64_t j = 0; j < i; ++j) {
      if (tokens[static_cast<std::size_t>(j)] != tokens[static_cast<std::size_t>(i)]) continue;
      has_dup = true;
      dup += a[static_cast<std::size_t>(i * n + j)];
      if (j + 1 < i) { has_ind = true; ind += a[static_cast<std::size_t>(i * n + j + 1)]; }  // the token after the copy
    }
    if (has_dup) { s.duplicate_token += dup; ++dup_rows; }
    if (has_ind) { s.induction += ind; ++ind_rows; }
  }
  if (dup_rows) s.duplicate_token /= static_cast<double>(dup_rows);
  if (ind_rows) s.induction /= static_cast<double>(ind_rows);
  return s;
}

double js_divergence(Span<const float> a, Span<const float> b, std::int64_t n) {
  check_square("js_divergence", a, n);
  check_square("js_divergence", b, n);
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double js = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double p = a[static_cast<std::size_t>(i * n + j)], q = b[static_cast<std::size_t>(i * n + j)], m = 0.5 * (p + q);
      if (p > 0) js += 0.5 * p * std::log(p / m);  // JS = ½KL(p‖m) + ½KL(q‖m)
      if (q > 0) js += 0.5 * q * std::log(q / m);
    }
    total += js;
  }
  return n ? total / static_cast<double>(n) : 0.0;
}

std::vector<double> classical_mds(Span<const double> d, std::int64_t m) {
  if (m < 0 || static_cast<std::int64_t>(d.size()) != m * m) detail::fail("classical_mds", "distance matrix has ", d.size(), " entries for m=", m);
  // B = −½ J D² J (double centring); coordinates = top-2 eigenvectors scaled by √λ.
  std::vector<double> b(static_cast<std::size_t>(m * m));
  std::vector<double> row(static_cast<std::size_t>(m), 0.0);
  double all = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      const double x = d[static_cast<std::size_t>(i * m + j)];
      row[static_cast<std::size_t>(i)] += x * x / static_cast<double>(m);
      all += x * x / static_cast<double>(m * m);
    }
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      const double x = d[static_cast<std::size_t>(i * m + j)];
      b[static_cast<std::size_t>(i * m + j)] = -0.5 * (x * x - row[static_cast<std::size_t>(i)] - row[static_cast<std::size_t>(j)] + all);
    }
  std::vector<double> vals, vecs;
  linalg::symmetric_eigen(b, m, vals, vecs);
  std::vector<double> out(static_cast<std::size_t>(m * 2), 0.0);
  for (int c = 0; c < 2 && c < m; ++c) {
    const double s = std::sqrt(std::max(0.0, vals[static_cast<std::size_t>(c)]));
    for (std::int64_t i = 0; i < m; ++i) out[static_cast<std::size_t>(i * 2 + c)] = s * vecs[static_cast<std::size_t>(c * m + i)];
  }
  return out;
}

}  // namespace attend::observe
