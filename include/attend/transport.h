#pragma once
// Exact optimal transport between two equal-size point clouds with uniform weights: the
// assignment problem (a permutation minimising the summed cost), solved by the Hungarian method
// with potentials in O(n³). Used for the 2-Wasserstein distance between the token clouds of
// consecutive layers (the residual stream seen as a flow of particles).
#include <cstdint>
#include "attend/span.h"
#include <vector>

namespace attend::graph {

struct Assignment {
  std::vector<int> match;  // [n]: row i is assigned column match[i] (a permutation)
  double cost = 0;         // Σ_i cost[i, match[i]]
};

// cost: [n, n] row-major, finite. n = 0 gives an empty assignment.
Assignment min_cost_assignment(Span<const double> cost, int n);

// W₂ between the empirical measures (1/n) Σ δ_{x_i} and (1/n) Σ δ_{y_j}:
// sqrt(min over permutations σ of (1/n) Σ_i |x_i − y_σ(i)|²), exact. x, y: [n, d].
// Refuses n > kMaxExactTransport (the O(n³) solve would take minutes).
constexpr int kMaxExactTransport = 4096;
double wasserstein2(Span<const float> x, Span<const float> y, int n, int d);

}  // namespace attend::graph
