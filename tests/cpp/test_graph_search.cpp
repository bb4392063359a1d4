// Path-merging search: the constructed transformer (merge layers + choice layer) against BFS, its
// layer count for the query's lookahead, and the blocked computation beyond the kernel's head size.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "attend/attend.h"

namespace attend::graph {
namespace {

// Independent: all vertices within `hops` of v by BFS.
std::vector<int> within(const SearchProblem& p, int v, int hops) {
  std::vector<int> out;
  for (int u = 0; u < p.n; ++u) {
    const int d = bfs_distance(p, v, u);
    if (d >= 0 && d <= hops) out.push_back(u);
  }
  return out;
}

// Independent: the out-neighbours of path.back() from which BFS reaches the goal within `hops`.
std::vector<int> children_within(const SearchProblem& p, int hops) {
  std::vector<int> out;
  for (auto [u, w] : p.edges) {
    const int d = bfs_distance(p, w, p.goal);
    if (u == p.path.back() && d >= 0 && d <= hops) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Random DAGs of 2 .. 80 vertices (naive, 1..3 parents), Saparov et al.'s balanced graphs and stars.
std::vector<SearchProblem> problems(int count) {
  std::vector<SearchProblem> ps;
  std::mt19937_64 rng(2026);
  for (int i = 0; static_cast<int>(ps.size()) < count; ++i) {
    if (i % 5 == 3) ps.push_back(balanced_example(50, 1 + i % 6, 15, rng).problem);
    else if (i % 10 == 9) ps.push_back(generate_star(1 + i % 4, 1 + i % 7, 9000 + static_cast<std::uint64_t>(i)));
    else ps.push_back(generate_naive_dag(2 + i % 79, 1 + i % 3, 1000 + static_cast<std::uint64_t>(i)));
  }
  return ps;
}

// The construction against BFS: with layers_needed layers the choice layer returns exactly the
// children within 2^layers of the goal (a shortest-path child among them); one layer fewer finds none.
void check_against_bfs(const SearchProblem& p, int head_block, int* fewer_checked) {
  const int d = bfs_distance(p, p.path.back(), p.goal);
  ASSERT_GE(d, 1);
  const int layers = layers_needed(p);
  ASSERT_GE(1 << layers, d - 1) << "n=" << p.n;
  const MergeTrace t = path_merge(p, layers, head_block);
  const std::vector<int> want = children_within(p, 1 << layers);
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(t.answers, want) << "n=" << p.n << " layers " << layers << " block " << head_block;
  ASSERT_EQ(t.answer, want.front());
  for (int w : children_within(p, d - 1)) EXPECT_TRUE(std::binary_search(t.answers.begin(), t.answers.end(), w));  // shortest-path children
  const std::vector<int> all = bfs_answers(p);
  for (int w : t.answers) EXPECT_TRUE(std::binary_search(all.begin(), all.end(), w));
  if (layers == 0) return;
  const MergeTrace fewer = path_merge(p, layers - 1, head_block);
  EXPECT_TRUE(fewer.answers.empty()) << "n=" << p.n;
  EXPECT_EQ(fewer.answer, -1);
  ++*fewer_checked;
}

TEST(GraphSearch, EncodeDecodeRoundTrip) {
  const SearchProblem p = generate_naive_dag(9, 2, 3);
  const auto t = encode(p);
  const SearchProblem q = decode(p.n, t);
  EXPECT_EQ(q.edges, p.edges);
  EXPECT_EQ(q.start, p.start);
  EXPECT_EQ(q.goal, p.goal);
  EXPECT_EQ(q.path, p.path);
  auto bad = t;
  bad.back() = 99;
  EXPECT_THROW(decode(p.n, bad), Error);
}

TEST(GraphSearch, LayersForTheQueryLookahead) {
  EXPECT_EQ(layers_for_lookahead(1), 0);  // the goal is a child
  EXPECT_EQ(layers_for_lookahead(2), 0);  // a child's out-neighbour: in R_0
  EXPECT_EQ(layers_for_lookahead(3), 1);
  EXPECT_EQ(layers_for_lookahead(5), 2);  // graph-demo's lookahead 5: 2 layers
  EXPECT_EQ(layers_for_lookahead(6), 3);
  EXPECT_EQ(layers_for_lookahead(9), 3);
  EXPECT_EQ(layers_for_lookahead(10), 4);
  EXPECT_THROW(layers_for_lookahead(0), Error);
  // A long chain with a short query: the layer count follows the query, not the graph's diameter.
  SearchProblem p = generate_star(1, 40, 1);  // 0 -> 1 -> ... -> 40 (labels shuffled)
  p.goal = p.path[0];
  std::vector<int> order{p.path[0]};  // walk the chain in label space
  for (int s = 0; s < 40; ++s)
    for (auto [u, w] : p.edges)
      if (u == order.back()) { order.push_back(w); break; }
  p.path = {order[10]};
  p.start = order[10];
  p.goal = order[15];  // 5 steps ahead
  EXPECT_EQ(layers_needed(p), 2);
  int fewer = 0;
  check_against_bfs(p, 1024, &fewer);
  EXPECT_EQ(fewer, 1);
}

TEST(GraphSearch, ConstructedModelEqualsBfsOnRandomGraphs) {
  int checked = 0, fewer = 0, blocked = 0, max_layers = 0;
  const int blocks[] = {1024, 1024, 16, 7, 33};
  const auto ps = problems(998);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const int block = blocks[i % 5];
    blocked += ps[i].n > block;
    max_layers = std::max(max_layers, layers_needed(ps[i]));
    check_against_bfs(ps[i], block, &fewer);
    ++checked;
  }
  // Two graphs beyond the kernel's head size (1024), blocked in 1024-vertex tiles: queries a few
  // steps deep (the cost is n^3 per layer).
  for (int n : {1100, 1300}) {
    for (std::uint64_t seed = 1;; ++seed) {
      const SearchProblem p = generate_naive_dag(n, 2, 77000 + seed);
      const int d = bfs_distance(p, p.path.back(), p.goal);
      if (d < 3 || d > 5) continue;
      check_against_bfs(p, 1024, &fewer);
      ++checked, ++blocked;
      break;
    }
  }
  EXPECT_EQ(checked, 1000);
  EXPECT_GT(fewer, 200);
  EXPECT_GT(blocked, 300);
  EXPECT_GE(max_layers, 3);
}

TEST(GraphSearch, BlockedEqualsUnblocked) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const SearchProblem p = generate_naive_dag(30 + static_cast<int>(seed), 2, 400 + seed);
    const MergeTrace a = path_merge(p, 3), b = path_merge(p, 3, 4);
    EXPECT_EQ(a.sets, b.sets);
    EXPECT_EQ(a.answers, b.answers);
    for (std::size_t w = 0; w < a.choice.size(); ++w) EXPECT_NEAR(a.choice[w], b.choice[w], 1e-5);
  }
}

TEST(GraphSearch, ReachDoublesPerLayer) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 60; ++i) {
    const SearchProblem p = i % 2 ? balanced_example(50, 2 + i % 6, 15, rng).problem : generate_naive_dag(12, 1, 70 + static_cast<std::uint64_t>(i));
    const MergeTrace t = path_merge(p, 3, i % 3 ? 1024 : 5);
    for (int l = 0; l <= 3; ++l)
      for (int v = 0; v < p.n; ++v) ASSERT_EQ(t.sets[static_cast<std::size_t>(l)][static_cast<std::size_t>(v)], within(p, v, 1 << l));
  }
}

TEST(GraphSearch, RejectsBadArguments) {
  EXPECT_THROW(generate_naive_dag(1, 1, 0), Error);
  EXPECT_THROW(generate_star(2, 0, 0), Error);
  EXPECT_THROW(path_merge(generate_star(2, 2, 0), -1), Error);
  EXPECT_THROW(path_merge(generate_star(2, 2, 0), 1, 0), Error);
  EXPECT_THROW(path_merge(generate_star(2, 2, 0), 1, 1025), Error);
  SearchProblem p = generate_star(2, 2, 0);
  p.goal = p.start;  // not reachable from itself in a DAG
  EXPECT_THROW(layers_needed(p), Error);
}

}  // namespace
}  // namespace attend::graph
