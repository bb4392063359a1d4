// Metrics behind the report's panels: the head-similarity map, the composition matrix, rollout
// rows for long inputs and the attended-distance bin edges.
#include <algorithm>
#include <cmath>

#include "attend/observe_metrics.h"
#include "core/check.h"

namespace attend::observe {

HeadMap head_similarity_map(const std::vector<Span<const float>>& heads, std::int64_t n, std::int64_t max_rows) {
  // heads: K × [N, N]
  if (n < 1 || max_rows < 1) detail::fail("head_similarity_map", "n=", n, " max_rows=", max_rows);
  for (std::size_t k = 0; k < heads.size(); ++k)
    if (static_cast<std::int64_t>(heads[k].size()) != n * n)
      detail::fail("head_similarity_map", "head ", k, " has ", heads[k].size(), " entries for n=", n);
  HeadMap map;
  const auto count = static_cast<std::int64_t>(heads.size());
  map.count = count;
  map.js.assign(static_cast<std::size_t>(count * count), 0.0);
  const std::int64_t rows = std::min(n, max_rows);
  for (std::int64_t a = 0; a < count; ++a)
    for (std::int64_t b = a + 1; b < count; ++b) {
      double total = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t i = rows == n ? r : r * (n - 1) / std::max<std::int64_t>(1, rows - 1);  // evenly spaced, first and last
        const float* p = heads[static_cast<std::size_t>(a)].data() + i * n;
        const float* q = heads[static_cast<std::size_t>(b)].data() + i * n;
        for (std::int64_t j = 0; j < n; ++j) {  // JS = ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2
          const double pj = p[j], qj = q[j], m = 0.5 * (pj + qj);
          if (pj > 0) total += 0.5 * pj * std::log(pj / m);
          if (qj > 0) total += 0.5 * qj * std::log(qj / m);
        }
      }
      map.js[static_cast<std::size_t>(a * count + b)] = map.js[static_cast<std::size_t>(b * count + a)] = total / static_cast<double>(rows);
    }
  std::vector<double> dist(map.js.size());
  for (std::size_t i = 0; i < dist.size(); ++i) dist[i] = std::sqrt(std::max(0.0, map.js[i]));
  map.xy = classical_mds(dist, count);
  return map;
}

std::vector<Composition> composition_matrix(const std::vector<HeadOperators>& ops, std::int64_t heads) {
  const auto m = static_cast<std::int64_t>(ops.size());
  if (heads < 1 || m % heads != 0) detail::fail("composition_matrix", ops.size(), " operators for heads=", heads);
  std::vector<Composition> out(static_cast<std::size_t>(m * m));
  for (std::int64_t later = 0; later < m; ++later)
    for (std::int64_t earlier = 0; earlier < later / heads * heads; ++earlier)  // heads of strictly earlier layers
      out[static_cast<std::size_t>(later * m + earlier)] =
          composition(ops[static_cast<std::size_t>(earlier)], ops[static_cast<std::size_t>(later)]);
  return out;
}

std::vector<double> rollout_rows(const std::vector<std::vector<double>>& layers, std::int64_t n, Span<const std::int64_t> rows) {
  if (layers.empty() || n < 1) detail::fail("rollout_rows", "no layers or n=", n);
  std::vector<std::vector<double>> inv_sum(layers.size());  // 1 / (Σ_j A_l[k, j] + 1): the row norm of Â_l
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (static_cast<std::int64_t>(layers[l].size()) != n * n)
      detail::fail("rollout_rows", "layer ", l, " has ", layers[l].size(), " entries, expected ", n, "x", n);
    inv_sum[l].resize(static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) {
      double s = 1;
      for (std::int64_t j = 0; j < n; ++j) s += layers[l][static_cast<std::size_t>(k * n + j)];
      inv_sum[l][static_cast<std::size_t>(k)] = 1 / s;
    }
  }
  std::vector<double> out(rows.size() * static_cast<std::size_t>(n), 0.0), v(static_cast<std::size_t>(n)), w(static_cast<std::size_t>(n));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::int64_t i = rows[r];
    if (i < 0 || i >= n) detail::fail("rollout_rows", "row ", i, " outside [0, ", n, ")");
    std::fill(v.begin(), v.end(), 0.0);
    v[static_cast<std::size_t>(i)] = 1;
    for (std::size_t l = layers.size(); l-- > 0;) {  // v ← v · Â_l, from the last layer down
      std::fill(w.begin(), w.end(), 0.0);
      for (std::int64_t k = 0; k < n; ++k) {
        const double vk = v[static_cast<std::size_t>(k)] * inv_sum[l][static_cast<std::size_t>(k)];
        if (vk == 0) continue;
        const double* a = layers[l].data() + k * n;
        for (std::int64_t j = 0; j < n; ++j) w[static_cast<std::size_t>(j)] += vk * a[j];
        w[static_cast<std::size_t>(k)] += vk;  // the identity
      }
      v.swap(w);
    }
    std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(n)));
  }
  return out;
}

std::vector<int> log2_distance_edges(std::int64_t n) {
  std::vector<int> edges{0};
  for (std::int64_t e = 1; e < n; e *= 2) edges.push_back(static_cast<int>(e));
  return edges;
}

}  // namespace attend::observe
