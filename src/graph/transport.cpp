// The assignment problem by the Hungarian method with row/column potentials (the shortest
// augmenting path form, O(n³)); W₂ between equal-size clouds on top of it.
#include "attend/transport.h"

#include <cmath>
#include <limits>

#include "core/check.h"

namespace attend::graph {

// cost: [n, n]
Assignment min_cost_assignment(Span<const double> cost, int n) {
  if (n < 0 || cost.size() != static_cast<std::size_t>(n) * static_cast<std::size_t>(n))
    detail::fail("graph::min_cost_assignment", "cost holds ", cost.size(), " values, expected n·n for n = ", n);
  for (double c : cost)
    if (!std::isfinite(c)) detail::fail("graph::min_cost_assignment", "cost holds a non-finite value (", c, ")");
  Assignment out;
  if (n == 0) return out;
  const double inf = std::numeric_limits<double>::infinity();
  const auto N = static_cast<std::size_t>(n);
  // 1-based arrays: u, v are the potentials, p[j] the row matched to column j (0: none), way[j]
  // the previous column on the shortest alternating path to j.
  std::vector<double> u(N + 1, 0.0), v(N + 1, 0.0), minv(N + 1);
  std::vector<std::size_t> p(N + 1, 0), way(N + 1, 0);
  std::vector<char> used(N + 1);
  for (std::size_t i = 1; i <= N; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {  // Dijkstra over reduced costs until a free column is reached
      used[j0] = 1;
      const std::size_t i0 = p[j0];
      const double* row = cost.data() + (i0 - 1) * N;
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= N; ++j) {
        if (used[j]) continue;
        const double cur = row[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (std::size_t j = 0; j <= N; ++j) {
        if (used[j]) u[p[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {  // flip the path
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  out.match.assign(N, -1);
  for (std::size_t j = 1; j <= N; ++j) out.match[p[j] - 1] = static_cast<int>(j - 1);
  for (std::size_t i = 0; i < N; ++i) out.cost += cost[i * N + static_cast<std::size_t>(out.match[i])];
  return out;
}

// x, y: [n, d]
double wasserstein2(Span<const float> x, Span<const float> y, int n, int d) {
  if (n < 1 || d < 1) detail::fail("graph::wasserstein2", "need n, d >= 1, got n = ", n, ", d = ", d);
  if (n > kMaxExactTransport)
    detail::fail("graph::wasserstein2", n, " points: the exact O(n³) solve is limited to ", kMaxExactTransport);
  const auto N = static_cast<std::size_t>(n), D = static_cast<std::size_t>(d);
  if (x.size() != N * D || y.size() != N * D)
    detail::fail("graph::wasserstein2", "x holds ", x.size(), " and y ", y.size(), " values, expected n·d = ", N * D);
  std::vector<double> cost(N * N);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < D; ++k) {
        const double e = static_cast<double>(x[i * D + k]) - static_cast<double>(y[j * D + k]);
        s += e * e;
      }
      cost[i * N + j] = s;
    }
  return std::sqrt(min_cost_assignment(cost, n).cost / static_cast<double>(n));
}

}  // namespace attend::graph
