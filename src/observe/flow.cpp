// Flow across layers: attention rollout and attention flow (max-flow on the layered graph).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "attend/observe_metrics.h"
#include "core/check.h"
#include "observe/linalg.h"

namespace attend::observe {
namespace {

// Â = rownorm(A + I): the residual connection counted as one more "head" that keeps the token.
std::vector<double> with_identity(const std::vector<double>& a, std::int64_t n) {
  std::vector<double> r(a);
  for (std::int64_t i = 0; i < n; ++i) {
    r[static_cast<std::size_t>(i * n + i)] += 1.0;
    double sum = 0;
    for (std::int64_t j = 0; j < n; ++j) sum += r[static_cast<std::size_t>(i * n + j)];
    for (std::int64_t j = 0; j < n; ++j) r[static_cast<std::size_t>(i * n + j)] /= sum;
  }
  return r;
}

void check_layers(const char* where, const std::vector<std::vector<double>>& layers, std::int64_t n) {
  if (layers.empty()) detail::fail(where, "no layers");
  for (std::size_t l = 0; l < layers.size(); ++l)
    if (static_cast<std::int64_t>(layers[l].size()) != n * n)
      detail::fail(where, "layer ", l, " has ", layers[l].size(), " entries, expected ", n, "x", n);
}

}  // namespace

std::vector<double> rollout(const std::vector<std::vector<double>>& layers, std::int64_t n) {
  check_layers("rollout", layers, n);
  std::vector<double> r = with_identity(layers[0], n);
  for (std::size_t l = 1; l < layers.size(); ++l) r = linalg::matmul(with_identity(layers[l], n), r, n, n, n);  // R ← Â_l · R
  return r;
}

std::vector<double> attention_flow(const std::vector<std::vector<double>>& layers, std::int64_t n) {
  check_layers("attention_flow", layers, n);
  if (n > 64) detail::fail("attention_flow", "n=", n, " tokens; max-flow is for short inputs (n <= 64), use rollout");
  const auto nl = static_cast<std::int64_t>(layers.size());
  const std::int64_t nodes = (nl + 1) * n;  // node (l, t) = l * n + t; layer 0 = the inputs
  std::vector<std::vector<double>> caps;
  for (const auto& a : layers) caps.push_back(with_identity(a, n));
  std::vector<double> out(static_cast<std::size_t>(n * n), 0.0);
  std::vector<double> cap(static_cast<std::size_t>(nodes * nodes));
  for (std::int64_t src_tok = 0; src_tok < n; ++src_tok)
    for (std::int64_t dst_tok = 0; dst_tok < n; ++dst_tok) {
      // edge (l, j) → (l+1, i) with capacity Â_l[i, j]; Edmonds–Karp on a dense residual graph.
      std::fill(cap.begin(), cap.end(), 0.0);
      for (std::int64_t l = 0; l < nl; ++l)
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = 0; j < n; ++j)
            cap[static_cast<std::size_t>((l * n + j) * nodes + (l + 1) * n + i)] = caps[static_cast<std::size_t>(l)][static_cast<std::size_t>(i * n + j)];
      const std::int64_t s = src_tok, t = nl * n + dst_tok;
      double flow = 0;
      std::vector<std::int64_t> parent(static_cast<std::size_t>(nodes));
      for (int iter = 0; iter < 10000; ++iter) {
        std::fill(parent.begin(), parent.end(), -1);
        parent[static_cast<std::size_t>(s)] = s;
        std::deque<std::int64_t> queue{s};
        while (!queue.empty() && parent[static_cast<std::size_t>(t)] < 0) {
          const std::int64_t u = queue.front();
          queue.pop_front();
          for (std::int64_t w = 0; w < nodes; ++w)
            if (parent[static_cast<std::size_t>(w)] < 0 && cap[static_cast<std::size_t>(u * nodes + w)] > 1e-12) {
              parent[static_cast<std::size_t>(w)] = u;
              queue.push_back(w);
            }
        }
        if (parent[static_cast<std::size_t>(t)] < 0) break;
        double push = std::numeric_limits<double>::infinity();
        for (std::int64_t w = t; w != s; w = parent[static_cast<std::size_t>(w)])
          push = std::min(push, cap[static_cast<std::size_t>(parent[static_cast<std::size_t>(w)] * nodes + w)]);
        for (std::int64_t w = t; w != s; w = parent[static_cast<std::size_t>(w)]) {
          const std::int64_t u = parent[static_cast<std::size_t>(w)];
          cap[static_cast<std::size_t>(u * nodes + w)] -= push;
          cap[static_cast<std::size_t>(w * nodes + u)] += push;
        }
        flow += push;
      }
      out[static_cast<std::size_t>(dst_tok * n + src_tok)] = flow;
    }
  return out;
}

std::vector<double> layer_mean(const Recording& rec, int layer) {
  // Every head when each has exact weights (recorded in full or a one-cell-per-entry thumbnail),
  // else the heads recorded in full.
  const LayerRecord& lr = rec.layer(layer);
  std::vector<Span<const float>> heads;
  for (int h = 0; h < rec.heads; ++h) {
    const auto w = rec.exact_weights(layer, h);
    if (w.empty()) { heads.clear(); break; }
    heads.push_back(w);
  }
  if (heads.empty())
    for (const auto& w : lr.weights) heads.emplace_back(w);
  if (heads.empty()) detail::fail("layer_mean", "layer ", layer, " has no head with exact weights");
  std::vector<double> mean(static_cast<std::size_t>(rec.n * rec.n), 0.0);
  for (const auto& w : heads)
    for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += w[i] / static_cast<double>(heads.size());
  return mean;
}

}  // namespace attend::observe
