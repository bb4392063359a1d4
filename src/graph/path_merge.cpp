// The path-merging transformer with constructed weights (Saparov et al., ICLR 2025, the algorithm
// their trained models approximate): merge layers double every vertex's reachable set, a final
// attention layer picks the next vertex. Every attention evaluation runs through attend::attention;
// graphs wider than the kernel's head size (1024) are computed in exact blocks.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/graph.h"
#include "attn_util.h"
#include "core/check.h"

namespace attend::graph {
namespace {

constexpr int kMaxHead = 1024;  // attend::attention's largest head size (D and Dv)

using Rows = std::vector<float>;  // row-major [n, n] 0/1 sets

// One merge layer: out_v = Σ_u softmax_u(β q_v·k_u) R_u with q_v = R_v, k_u = e_u, v_u = R_u, i.e.
// the mean of R_u over u ∈ R_v (up to e^{−β}); then the feed-forward threshold.
// Blocked exactly (split-K, as flash attention merges tiles): keys u in blocks b of <= `block`
// vertices; with one-hot keys, q_v·k_u only reads coordinate u, so block b needs q's coordinates
// in b only (head size |b|); values in column chunks c (head size |c|). Each block's (out, lse)
// pair is merged with the running one by log-sum-exp weights: out = Σ_b e^{lse_b − lse} out_b.
Rows merge_layer(const Rows& r, int n, float beta, int block) {
  const std::size_t un = static_cast<std::size_t>(n);
  std::vector<double> acc(un * un, 0.0), run_max(un, -std::numeric_limits<double>::infinity()), run_sum(un, 0.0);
  for (int b0 = 0; b0 < n; b0 += block) {
    const int nb = std::min(block, n - b0);
    std::vector<float> q(un * static_cast<std::size_t>(nb)), k(static_cast<std::size_t>(nb) * nb, 0.0f);
    for (std::size_t v = 0; v < un; ++v)
      std::copy_n(r.begin() + static_cast<std::ptrdiff_t>(v * un + static_cast<std::size_t>(b0)), nb, q.begin() + static_cast<std::ptrdiff_t>(v * static_cast<std::size_t>(nb)));
    for (int i = 0; i < nb; ++i) k[static_cast<std::size_t>(i) * nb + i] = 1;  // e_u
    std::vector<float> lse;
    std::vector<double> scale_old(un), scale_new(un);
    for (int c0 = 0; c0 < n; c0 += block) {
      const int nc = std::min(block, n - c0);
      std::vector<float> val(static_cast<std::size_t>(nb) * nc);  // R_u restricted to columns c
      for (int u = 0; u < nb; ++u)
        std::copy_n(r.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(b0 + u) * un + static_cast<std::size_t>(c0)), nc,
                    val.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(u) * nc));
      const std::vector<float> out = internal::attend_rows(q, k, val, n, nb, nb, nc, beta, &lse);  // [n, nc], lse [n]
      if (c0 == 0)
        for (std::size_t v = 0; v < un; ++v) {  // this block's weight against the running total
          const double m = std::max(run_max[v], static_cast<double>(lse[v]));
          scale_old[v] = std::isinf(run_max[v]) ? 0.0 : std::exp(run_max[v] - m);
          scale_new[v] = std::exp(static_cast<double>(lse[v]) - m);
          run_sum[v] = run_sum[v] * scale_old[v] + scale_new[v];
          run_max[v] = m;
        }
      for (std::size_t v = 0; v < un; ++v)
        for (int j = 0; j < nc; ++j) {
          double& a = acc[v * un + static_cast<std::size_t>(c0 + j)];
          a = a * scale_old[v] + scale_new[v] * out[v * static_cast<std::size_t>(nc) + static_cast<std::size_t>(j)];
        }
    }
  }
  Rows next(un * un);
  const double threshold = 0.5 / n;  // feed-forward: a reached vertex contributes >= 1/n
  for (std::size_t v = 0; v < un; ++v)
    for (std::size_t w = 0; w < un; ++w) next[v * un + w] = acc[v * un + w] / run_sum[v] > threshold ? 1.0f : 0.0f;
  return next;
}

}  // namespace

int layers_for_lookahead(int distance) {
  if (distance < 1) detail::fail("graph::layers_for_lookahead", "the goal must be >= 1 step away, got ", distance);
  int layers = 0;
  while ((1 << layers) < distance - 1) ++layers;
  return layers;
}

int layers_needed(const SearchProblem& p) {
  if (p.path.empty() || p.path.back() < 0 || p.path.back() >= p.n || p.goal < 0 || p.goal >= p.n)
    detail::fail("graph::layers_needed", "bad problem: n=", p.n, " goal=", p.goal, " path length ", p.path.size());
  const int d = bfs_distance(p, p.path.back(), p.goal);
  if (d < 1) detail::fail("graph::layers_needed", "the goal ", p.goal, " is not reachable from ", p.path.back());
  return layers_for_lookahead(d);
}

MergeTrace path_merge(const SearchProblem& p, int layers, int head_block) {
  if (layers < 0) detail::fail("graph::path_merge", "layers must be >= 0, got ", layers);
  if (head_block < 1 || head_block > kMaxHead) detail::fail("graph::path_merge", "head_block must be in [1, ", kMaxHead, "], got ", head_block);
  if (p.n < 1 || p.path.empty() || p.goal < 0 || p.goal >= p.n || p.path.back() < 0 || p.path.back() >= p.n)
    detail::fail("graph::path_merge", "bad problem: n=", p.n, " goal=", p.goal, " path length ", p.path.size());
  if (p.n > 8192) detail::fail("graph::path_merge", "n = ", p.n, " vertices: the [n, n] set tables are limited to n <= 8192");
  for (auto [u, w] : p.edges)
    if (u < 0 || u >= p.n || w < 0 || w >= p.n) detail::fail("graph::path_merge", "edge (", u, ", ", w, ") out of range n=", p.n);
  const int n = p.n;
  const std::size_t un = static_cast<std::size_t>(n);
  // Embedding: token v holds R_v = {v} ∪ out(v) as a 0/1 row [n], and its parents as another.
  Rows r(un * un, 0.0f), parents(un * un, 0.0f);
  for (std::size_t v = 0; v < un; ++v) r[v * un + v] = 1;
  for (auto [u, w] : p.edges) r[static_cast<std::size_t>(u) * un + static_cast<std::size_t>(w)] = 1, parents[static_cast<std::size_t>(w) * un + static_cast<std::size_t>(u)] = 1;
  // β: weight on an unreached key is <= e^{−β} times that of a reached one, so the copied mass from
  // outside R_v is <= n·e^{−β} ≪ 1/n, the least mass a reached vertex contributes.
  const float beta = 2.0f * std::log(static_cast<float>(n) + 1.0f) + 12.0f;
  MergeTrace trace;
  auto record = [&] {
    std::vector<std::vector<int>> sets(un);
    for (std::size_t v = 0; v < un; ++v)
      for (std::size_t u = 0; u < un; ++u)
        if (r[v * un + u] > 0) sets[v].push_back(static_cast<int>(u));
    trace.sets.push_back(std::move(sets));
  };
  record();
  for (int l = 0; l < layers; ++l) {
    r = merge_layer(r, n, beta, head_block);
    record();
  }
  // Choice layer: one query, the current vertex c's token, q = [e_c ; e_goal ; 1]; key of vertex w
  // k_w = [parents(w) ; R_w ; 0], and a "none" key k = [0 ; 0 ; 1.5]; values e_w and 0. The logit
  // β q·k_w = β([w is a child of c] + [goal ∈ R_w]) is 2β exactly for the children whose set holds
  // the goal, so the softmax puts (almost) all weight on them; when there is none, the none key
  // (1.5β) wins over every single-condition key (β). q has three non-zero coordinates, so q·k needs
  // only those three of the 2n + 1 (an exact sparse dot product: the head size is 3).
  const int c = p.path.back();
  std::vector<float> q{1.0f, 1.0f, 1.0f}, k((un + 1) * 3, 0.0f);
  for (std::size_t w = 0; w < un; ++w) {
    k[w * 3 + 0] = parents[w * un + static_cast<std::size_t>(c)];
    k[w * 3 + 1] = r[w * un + static_cast<std::size_t>(p.goal)];
  }
  k[un * 3 + 2] = 1.5f;
  trace.choice.assign(un, 0.0f);
  for (int c0 = 0; c0 < n; c0 += head_block) {  // values e_w in column chunks of <= head_block
    const int nc = std::min(head_block, n - c0);
    std::vector<float> val((un + 1) * static_cast<std::size_t>(nc), 0.0f);
    for (int j = 0; j < nc; ++j) val[static_cast<std::size_t>(c0 + j) * static_cast<std::size_t>(nc) + static_cast<std::size_t>(j)] = 1;
    const std::vector<float> out = internal::attend_rows(q, k, val, 1, n + 1, 3, nc, beta);
    std::copy(out.begin(), out.end(), trace.choice.begin() + c0);
  }
  const float threshold = 0.5f / static_cast<float>(n + 1);
  for (int w = 0; w < n; ++w)
    if (trace.choice[static_cast<std::size_t>(w)] > threshold) trace.answers.push_back(w);
  const auto best = std::max_element(trace.choice.begin(), trace.choice.end());  // first of equal weights: the smallest label
  trace.answer = *best > threshold ? static_cast<int>(best - trace.choice.begin()) : -1;
  return trace;
}

}  // namespace attend::graph
