// Path-merging search: the constructed transformer against BFS, and its layer count.
#include <gtest/gtest.h>

#include <algorithm>
#include <queue>
#include <random>

#include "attend/attend.h"

namespace attend::graph {
namespace {

std::vector<SearchProblem> problems() {
  std::vector<SearchProblem> ps;
  for (int i = 0; i < 1500; ++i) ps.push_back(generate_naive_dag(2 + i % 15, 1 + i % 3, 1000 + i));
  std::mt19937_64 rng(5000);
  for (int i = 0; i < 400; ++i) ps.push_back(balanced_example(50, 1 + i % 6, 15, rng).problem);
  for (int i = 0; i < 200; ++i) ps.push_back(generate_star(1 + i % 4, 1 + i % 7, 9000 + i));
  return ps;
}

// Independent: all vertices within `hops` of v by BFS.
std::vector<int> within(const SearchProblem& p, int v, int hops) {
  std::vector<int> out;
  for (int u = 0; u < p.n; ++u) {
    const int d = bfs_distance(p, v, u);
    if (d >= 0 && d <= hops) out.push_back(u);
  }
  return out;
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

TEST(GraphSearch, PathMergeEqualsBfs) {
  int checked = 0;
  for (const SearchProblem& p : problems()) {
    const auto want = bfs_answers(p);
    ASSERT_FALSE(want.empty());
    const MergeTrace t = path_merge(p, layers_needed(p));
    ASSERT_EQ(t.answers, want) << "n=" << p.n;
    ASSERT_EQ(t.answer, want.front());
    ++checked;
  }
  EXPECT_GE(checked, 2000);
}

TEST(GraphSearch, ReachDoublesPerLayer) {
  for (int i = 0; i < 60; ++i) {
    std::mt19937_64 rng(70 + static_cast<std::uint64_t>(i));
    const SearchProblem p = i % 2 ? balanced_example(50, 2 + i % 5, 15, rng).problem : generate_naive_dag(12, 1, 70 + i);
    const MergeTrace t = path_merge(p, 3);
    for (int l = 0; l <= 3; ++l)
      for (int v = 0; v < p.n; ++v) ASSERT_EQ(t.sets[static_cast<std::size_t>(l)][static_cast<std::size_t>(v)], within(p, v, 1 << l));
  }
}

TEST(GraphSearch, OneLayerFewerFails) {
  int failures = 0, needing = 0;
  for (const SearchProblem& p : problems()) {
    const auto want = bfs_answers(p);
    int dist = 1 << 30;
    for (int w : want) dist = std::min(dist, bfs_distance(p, w, p.goal));
    int need = 0;
    while ((1 << need) < dist) ++need;  // ⌈log2 d⌉ layers for the answer's remaining path
    // With `need` layers the nearest answers are found (farther ones may need more layers).
    const MergeTrace enough = path_merge(p, need);
    ASSERT_FALSE(enough.answers.empty());
    for (int w : enough.answers) EXPECT_TRUE(std::binary_search(want.begin(), want.end(), w));
    EXPECT_EQ(bfs_distance(p, enough.answer, p.goal) <= (1 << need), true);
    if (need == 0) continue;
    ++needing;
    const MergeTrace t = path_merge(p, need - 1);
    EXPECT_TRUE(t.answers.empty());  // every candidate is farther than 2^(need−1)
    failures += t.answers != want;
  }
  EXPECT_GT(needing, 300);
  EXPECT_EQ(failures, needing);
}

TEST(GraphSearch, GeneratorsRejectBadArguments) {
  EXPECT_THROW(generate_naive_dag(1, 1, 0), Error);
  EXPECT_THROW(generate_star(2, 0, 0), Error);
  EXPECT_THROW(path_merge(generate_star(2, 2, 0), -1), Error);
}

}  // namespace
}  // namespace attend::graph
