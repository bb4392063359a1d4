// Path-merging graph search (Saparov et al., "Transformers Struggle to Learn to Search", ICLR 2025):
// the problem encoding, its generators and BFS. The constructed transformer is path_merge.cpp;
// Saparov et al.'s balanced distribution is search_balanced.cpp.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <random>

#include "attend/graph.h"
#include "core/check.h"

namespace attend::graph {
namespace {

std::vector<std::vector<int>> adjacency(const SearchProblem& p) {
  std::vector<std::vector<int>> adj(static_cast<std::size_t>(p.n));
  for (auto [u, v] : p.edges) adj[static_cast<std::size_t>(u)].push_back(v);
  return adj;
}

std::vector<int> distances_from(const std::vector<std::vector<int>>& adj, int s) {
  std::vector<int> dist(adj.size(), -1);
  std::queue<int> q;
  dist[static_cast<std::size_t>(s)] = 0;
  q.push(s);
  while (!q.empty()) {
    const int u = q.front();
    q.pop();
    for (int w : adj[static_cast<std::size_t>(u)])
      if (dist[static_cast<std::size_t>(w)] < 0) dist[static_cast<std::size_t>(w)] = dist[static_cast<std::size_t>(u)] + 1, q.push(w);
  }
  return dist;
}

// Relabel vertices by a random permutation (so labels carry no order information).
void shuffle_labels(SearchProblem& p, std::mt19937_64& rng) {
  std::vector<int> perm(static_cast<std::size_t>(p.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  auto m = [&](int v) { return perm[static_cast<std::size_t>(v)]; };
  for (auto& [u, v] : p.edges) u = m(u), v = m(v);
  std::shuffle(p.edges.begin(), p.edges.end(), rng);
  p.start = m(p.start), p.goal = m(p.goal);
  for (int& v : p.path) v = m(v);
}

// The path so far: a random prefix of a shortest start→goal path that stops before the goal.
void choose_path(SearchProblem& p, std::mt19937_64& rng) {
  const auto adj = adjacency(p);
  const auto to_goal = [&] {  // distances to goal on the reversed graph
    std::vector<std::vector<int>> rev(adj.size());
    for (auto [u, v] : p.edges) rev[static_cast<std::size_t>(v)].push_back(u);
    return distances_from(rev, p.goal);
  }();
  const int d = to_goal[static_cast<std::size_t>(p.start)];
  ATTEND_ASSERT(d >= 1);
  const int len = static_cast<int>(rng() % static_cast<std::uint64_t>(d));  // steps already taken
  p.path = {p.start};
  for (int s = 0; s < len; ++s) {
    std::vector<int> next;
    for (int w : adj[static_cast<std::size_t>(p.path.back())])
      if (to_goal[static_cast<std::size_t>(w)] == to_goal[static_cast<std::size_t>(p.path.back())] - 1) next.push_back(w);
    p.path.push_back(next[rng() % next.size()]);
  }
}

}  // namespace

std::vector<int> encode(const SearchProblem& p) {
  std::vector<int> t;
  for (auto [u, v] : p.edges) t.insert(t.end(), {kEdge, u, v});
  t.insert(t.end(), {kQuery, p.start, p.goal, kPath});
  t.insert(t.end(), p.path.begin(), p.path.end());
  return t;
}

SearchProblem decode(int n, const std::vector<int>& t) {
  SearchProblem p;
  p.n = n;
  std::size_t i = 0;
  auto vertex = [&](std::size_t at) {
    if (at >= t.size() || t[at] < 0 || t[at] >= n) detail::fail("graph::decode", "bad vertex token at ", at);
    return t[at];
  };
  while (i < t.size() && t[i] == kEdge) p.edges.emplace_back(vertex(i + 1), vertex(i + 2)), i += 3;
  if (i + 3 >= t.size() + 0 || t[i] != kQuery || t[i + 3] != kPath) detail::fail("graph::decode", "expected query at ", i);
  p.start = vertex(i + 1), p.goal = vertex(i + 2);
  for (i += 4; i < t.size(); ++i) p.path.push_back(vertex(i));
  if (p.path.empty() || p.path[0] != p.start) detail::fail("graph::decode", "path must begin at the start");
  return p;
}

SearchProblem generate_naive_dag(int n, int max_parents, std::uint64_t seed) {
  if (n < 2 || max_parents < 1) detail::fail("graph::generate_naive_dag", "need n >= 2, max_parents >= 1, got ", n, ", ", max_parents);
  std::mt19937_64 rng(seed);
  for (;;) {
    SearchProblem p;
    p.n = n;
    for (int j = 1; j < n; ++j) {  // vertex j draws 1..max_parents distinct parents among 0..j-1
      const int k = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::min(max_parents, j)));
      std::vector<int> cand(static_cast<std::size_t>(j));
      std::iota(cand.begin(), cand.end(), 0);
      std::shuffle(cand.begin(), cand.end(), rng);
      for (int c = 0; c < k; ++c) p.edges.emplace_back(cand[static_cast<std::size_t>(c)], j);
    }
    p.start = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    const auto dist = distances_from(adjacency(p), p.start);
    std::vector<int> reach;
    for (int v = 0; v < n; ++v)
      if (dist[static_cast<std::size_t>(v)] >= 1) reach.push_back(v);
    if (reach.empty()) continue;
    p.goal = reach[rng() % reach.size()];
    choose_path(p, rng);
    shuffle_labels(p, rng);
    return p;
  }
}

SearchProblem generate_star(int arms, int arm_length, std::uint64_t seed) {
  if (arms < 1 || arm_length < 1) detail::fail("graph::generate_star", "need arms, arm_length >= 1, got ", arms, ", ", arm_length);
  std::mt19937_64 rng(seed);
  SearchProblem p;
  p.start = 0;
  int next = 1;
  for (int a = 0; a < arms; ++a) {
    int prev = 0;
    for (int s = 0; s < arm_length; ++s) p.edges.emplace_back(prev, next), prev = next++;
    if (a == 0) p.goal = prev;
  }
  p.n = next;
  p.path = {p.start};
  shuffle_labels(p, rng);
  return p;
}

int bfs_distance(const SearchProblem& p, int from, int to) {
  return distances_from(adjacency(p), from)[static_cast<std::size_t>(to)];
}

std::vector<int> bfs_answers(const SearchProblem& p) {
  const auto adj = adjacency(p);
  std::vector<int> out;
  for (int w : adj[static_cast<std::size_t>(p.path.back())])
    if (distances_from(adj, w)[static_cast<std::size_t>(p.goal)] >= 0) out.push_back(w);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace attend::graph
