// The search task as Saparov et al. generate it: their encoding, the balanced distribution's
// invariants (checked by independent BFS), the held-out set, the trainer's batches, and a test that
// no shallow heuristic beats chance (the leak of attend's earlier generator is detected by it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "attend/attend.h"

namespace attend::graph {
namespace {

std::vector<int> children(const SearchProblem& p, int v) {
  std::vector<int> out;
  for (auto [a, b] : p.edges)
    if (a == v) out.push_back(b);
  return out;
}

TEST(GraphSearchTask, EncodingIsTheirs) {
  const SearchEncoding e = search_encoding(32);  // (32 − 5) / 3 = 9 labels
  EXPECT_EQ(e.vertices, 9);
  EXPECT_EQ(e.path, 10);
  EXPECT_EQ(e.edge, 11);
  EXPECT_EQ(e.pad, 12);
  EXPECT_EQ(e.query, 13);
  EXPECT_EQ(e.vocab, 14);
  EXPECT_EQ(max_search_lookahead(32), 4);
  EXPECT_EQ(max_search_lookahead(128), 20);  // their main setting
  EXPECT_THROW(search_encoding(13), Error);
  std::mt19937_64 rng(1);
  const SearchExample x = balanced_example(32, 3, 9, rng);
  const SearchSequence s = search_sequence(x, 32);
  const std::size_t len = 3 * x.problem.edges.size() + 4 + x.problem.path.size(), pad = 32 - len;
  ASSERT_EQ(s.tokens.size(), 32u);
  for (std::size_t i = 0; i < pad; ++i) EXPECT_EQ(s.tokens[i], e.pad);  // left padding
  for (std::size_t k = 0; k < x.problem.edges.size(); ++k) {
    EXPECT_EQ(s.tokens[pad + 3 * k], e.edge);
    EXPECT_EQ(s.tokens[pad + 3 * k + 1], x.problem.edges[k].first);
    EXPECT_EQ(s.tokens[pad + 3 * k + 2], x.problem.edges[k].second);
  }
  const std::size_t q = pad + 3 * x.problem.edges.size();
  EXPECT_EQ(s.tokens[q], e.query);
  EXPECT_EQ(s.tokens[q + 1], x.problem.start);
  EXPECT_EQ(s.tokens[q + 2], x.problem.goal);
  EXPECT_EQ(s.tokens[q + 3], e.path);
  EXPECT_EQ(s.tokens[31], x.problem.path.back());
  EXPECT_EQ(s.answer_at, 31);
  EXPECT_EQ(s.answer, x.label);
  EXPECT_EQ(search_token_text(e.edge, 32), "E");
  EXPECT_EQ(search_token_text(7, 32), "7");
}

// Every example of the stream, against independent checks.
TEST(GraphSearchTask, BalancedStreamInvariants) {
  for (std::int64_t S : {32, 50}) {
    const SearchEncoding enc = search_encoding(S);
    const int max_la = max_search_lookahead(S);
    BalancedStream stream(S, max_la, enc.vertices, 11);
    std::map<int, int> lookaheads;
    const int N = 3000;
    for (int i = 0; i < N; ++i) {
      const SearchExample x = stream.next();
      const SearchProblem& p = x.problem;
      ++lookaheads[x.lookahead];
      ASSERT_EQ(p.n, enc.vertices + 1);
      ASSERT_LE(static_cast<int>(p.edges.size()), enc.vertices);
      ASSERT_LE(static_cast<std::int64_t>(3 * p.edges.size() + 4 + p.path.size()), S);
      std::set<std::pair<int, int>> unique(p.edges.begin(), p.edges.end());
      ASSERT_EQ(unique.size(), p.edges.size());
      for (auto [u, v] : p.edges) {
        ASSERT_TRUE(u >= 1 && u <= enc.vertices && v >= 1 && v <= enc.vertices);
        ASSERT_LT(bfs_distance(p, v, u), 0) << "a cycle";  // a DAG
      }
      ASSERT_EQ(p.path.front(), p.start);
      for (std::size_t k = 1; k < p.path.size(); ++k)  // the path follows edges along a shortest path
        ASSERT_EQ(bfs_distance(p, p.path[k], p.goal), bfs_distance(p, p.path[k - 1], p.goal) - 1);
      ASSERT_EQ(x.useful, bfs_answers(p));  // every child from which BFS reaches the goal
      ASSERT_TRUE(std::binary_search(x.useful.begin(), x.useful.end(), x.label));
      ASSERT_EQ(bfs_distance(p, x.next, p.goal), bfs_distance(p, p.path.back(), p.goal) - 1);  // on a shortest path
      ASSERT_EQ(x.lookahead, lookahead_depth(p, p.path.back(), x.next));
      ASSERT_LE(x.lookahead, bfs_distance(p, p.path.back(), p.goal));
      if (p.path.size() == 1 && x.lookahead >= 1) {
        ASSERT_EQ(bfs_distance(p, p.start, p.goal), x.lookahead);  // the goal's chain has length L
        ASSERT_GE(children(p, p.start).size(), 2u);                // at least one other branch
      }
    }
    for (int la = 0; la <= max_la; ++la)  // L uniform on 0 .. max (their generate_training_set)
      EXPECT_NEAR(lookaheads[la] / static_cast<double>(N), 1.0 / (max_la + 1), 0.03) << "S " << S << " L " << la;
  }
  EXPECT_THROW(BalancedStream(32, 5, 9, 0), Error);   // two branches of 5 need 11 edges
  EXPECT_THROW(BalancedStream(32, 2, 10, 0), Error);  // more edges than labels
}

TEST(GraphSearchTask, HeldOutExamples) {
  for (int la = 1; la <= 4; ++la)
    for (int i = 0; i < 50; ++i) {
      const SearchExample x = search_held_out(32, la, i);
      EXPECT_EQ(x.lookahead, la);
      EXPECT_EQ(x.useful.size(), 1u);
      EXPECT_EQ(x.useful, bfs_answers(x.problem));
      EXPECT_GE(children(x.problem, x.problem.path.back()).size(), 2u);
      EXPECT_EQ(search_sequence(x, 32).tokens, search_sequence(search_held_out(32, la, i), 32).tokens);  // a fixed set
    }
  EXPECT_THROW(search_held_out(32, 5, 0), Error);
  EXPECT_THROW(search_held_out(32, 1, kSearchHeldOut), Error);
}

TEST(GraphSearchTask, TrainerBatchesAvoidTheHeldOutSet) {
  EXPECT_THROW(nn::TaskData(nn::Task::search, 20, 32), Error);  // vocab must be 14 for S = 32
  EXPECT_THROW(nn::TaskData(nn::Task::search, 7, 10), Error);
  const nn::TaskData data(nn::Task::search, 14, 32);
  EXPECT_EQ(data.max_level(), 4);
  std::set<std::vector<std::int32_t>> held;
  for (int la = 1; la <= 4; ++la)
    for (int i = 0; i < kSearchHeldOut; ++i) held.insert(search_sequence(search_held_out(32, la, i), 32).tokens);
  int hits_possible = 0;
  for (std::int64_t index = 0; index < 40; ++index) {
    const nn::Batch b = data.batch(64, 3, index, nn::Split::train, index % 2 ? 1 : -1);
    if (index == 0) {
      EXPECT_EQ(b.tokens, data.batch(64, 3, 0, nn::Split::train, -1).tokens);  // a pure function of (seed, index, level)
    }
    for (std::int64_t r = 0; r < b.B; ++r) {
      const std::vector<std::int32_t> seq(b.tokens.begin() + r * 32, b.tokens.begin() + (r + 1) * 32);
      EXPECT_EQ(held.count(seq), 0u);
      for (std::int64_t t = 0; t < 31; ++t) EXPECT_EQ(b.targets[static_cast<std::size_t>(r * 32 + t)], -1);
      const std::int32_t y = b.targets[static_cast<std::size_t>(r * 32 + 31)];
      EXPECT_TRUE(y >= 1 && y <= 9);
      hits_possible += seq[31] >= 1 && seq[31] <= 9;
    }
  }
  EXPECT_EQ(hits_possible, 40 * 64);  // the last token is always a path vertex
  EXPECT_THROW(data.batch(4, 0, 0, nn::Split::train, 5), Error);
}

// ---- no shallow heuristic beats chance -------------------------------------------------------
// For an example of lookahead L, a heuristic scores each out-neighbour c of the current vertex from
// what lies less than L steps away (so not the goal's level): the vertices c reaches within L − 2
// steps (its "horizon", c included when L >= 2) and their degrees and dead ends, or from the
// position of the edge (current, c) in the list, or from c's label. It picks its top-scored
// candidates (ties split evenly); accuracy is compared with chance (1 / number of candidates).
struct Heuristic {
  const char* name;
  std::function<double(const SearchProblem&, int c, int L)> score;
};

std::vector<int> horizon(const SearchProblem& p, int c, int L) {
  std::vector<int> out;
  if (L < 2) return out;
  for (int v = 0; v < p.n; ++v) {
    const int d = bfs_distance(p, c, v);
    if (d >= 0 && d <= L - 2) out.push_back(v);
  }
  return out;
}
int out_degree(const SearchProblem& p, int v) { return static_cast<int>(children(p, v).size()); }
int in_degree(const SearchProblem& p, int v) {
  return static_cast<int>(std::count_if(p.edges.begin(), p.edges.end(), [&](const auto& e) { return e.second == v; }));
}

std::vector<Heuristic> heuristics() {
  std::vector<Heuristic> h;
  auto both = [&](const char* more, const char* fewer, std::function<double(const SearchProblem&, int, int)> f) {
    h.push_back({more, f});
    h.push_back({fewer, [f](const SearchProblem& p, int c, int L) { return -f(p, c, L); }});
  };
  both("most out-edges in the horizon (branch degree)", "fewest out-edges in the horizon", [](const SearchProblem& p, int c, int L) {
    double s = 0;
    for (int v : horizon(p, c, L)) s += out_degree(p, v);
    return s;
  });
  both("most in-edges in the horizon", "fewest in-edges in the horizon", [](const SearchProblem& p, int c, int L) {
    double s = 0;
    for (int v : horizon(p, c, L)) s += in_degree(p, v);
    return s;
  });
  both("most dead ends (leaves) in the horizon", "fewest dead ends in the horizon (no leaves)", [](const SearchProblem& p, int c, int L) {
    double s = 0;
    for (int v : horizon(p, c, L)) s += out_degree(p, v) == 0;
    return s;
  });
  both("largest horizon", "smallest horizon", [](const SearchProblem& p, int c, int L) { return static_cast<double>(horizon(p, c, L).size()); });
  both("its edge listed last", "its edge listed first", [](const SearchProblem& p, int c, int) {
    for (std::size_t i = 0; i < p.edges.size(); ++i)
      if (p.edges[i] == std::make_pair(p.path.back(), c)) return static_cast<double>(i);
    return -1.0;
  });
  both("largest label", "smallest label", [](const SearchProblem&, int c, int) { return static_cast<double>(c); });
  return h;
}

struct Score {
  double accuracy = 0, chance = 0;
};
Score score(const std::vector<SearchExample>& xs, const Heuristic& h) {
  Score s;
  for (const SearchExample& x : xs) {
    const std::vector<int> cand = children(x.problem, x.problem.path.back());
    std::vector<double> v;
    for (int c : cand) v.push_back(h.score(x.problem, c, x.lookahead));
    const double best = *std::max_element(v.begin(), v.end());
    int top = 0;
    bool right = false;
    for (std::size_t i = 0; i < cand.size(); ++i)
      if (v[i] == best) ++top, right = right || cand[i] == x.useful[0];
    s.accuracy += right ? 1.0 / top : 0.0;
    s.chance += 1.0 / static_cast<double>(cand.size());
  }
  s.accuracy /= static_cast<double>(xs.size());
  s.chance /= static_cast<double>(xs.size());
  return s;
}

// attend's earlier generator (the one the independent check found leaking): `branches` chains of
// length L from the start, the goal ends chain 0, and dead-end leaves hang (with probability 1/2
// per vertex) off the other chains only. Labels shuffled.
SearchExample leaky_example(int L, std::mt19937_64& rng) {
  SearchProblem p;
  int next = 1;
  for (int b = 0; b < 2; ++b) {
    int prev = 0;
    for (int s = 0; s < L; ++s) {
      const int cur = next++;
      p.edges.emplace_back(prev, cur);
      if (b > 0 && rng() % 2 == 0) p.edges.emplace_back(cur, next++);
      prev = cur;
    }
    if (b == 0) p.goal = prev;
  }
  p.n = next;
  std::vector<int> perm(static_cast<std::size_t>(p.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (auto& [u, v] : p.edges) u = perm[static_cast<std::size_t>(u)], v = perm[static_cast<std::size_t>(v)];
  std::shuffle(p.edges.begin(), p.edges.end(), rng);
  p.start = perm[0];
  p.goal = perm[static_cast<std::size_t>(p.goal)];
  p.path = {p.start};
  SearchExample x;
  x.problem = p;
  x.useful = bfs_answers(p);
  x.label = x.useful[0];
  x.lookahead = L;
  return x;
}

TEST(GraphSearchTask, NoShallowHeuristicBeatsChance) {
  constexpr int kPerLookahead = 1500;  // standard error of an accuracy near 1/2: 1.3 points
  constexpr double kMargin = 0.05;
  for (std::int64_t S : {32, 50}) {
    for (int L = 1; L <= max_search_lookahead(S); ++L) {
      std::vector<SearchExample> xs;
      std::mt19937_64 rng(static_cast<std::uint64_t>(S * 100 + L));
      for (int i = 0; i < kPerLookahead; ++i) xs.push_back(balanced_eval_example(S, L, rng));
      Score worst;
      const char* worst_name = "";
      for (const Heuristic& h : heuristics()) {
        const Score s = score(xs, h);
        EXPECT_LT(s.accuracy, s.chance + kMargin) << "S " << S << ", lookahead " << L << ": '" << h.name << "' scores "
                                                  << s.accuracy << " against chance " << s.chance;
        if (s.accuracy - s.chance > worst.accuracy - worst.chance || !*worst_name) worst = s, worst_name = h.name;
      }
      std::printf("S %lld lookahead %d: chance %.3f, best heuristic %.3f (%s)\n", static_cast<long long>(S), L, worst.chance,
                  worst.accuracy, worst_name);
    }
  }
  // The same test catches the earlier generator's leak: no dead ends on the goal's branch.
  std::mt19937_64 rng(3);
  for (int L = 2; L <= 4; ++L) {
    std::vector<SearchExample> xs;
    for (int i = 0; i < 500; ++i) xs.push_back(leaky_example(L, rng));
    double best = 0;
    for (const Heuristic& h : heuristics()) best = std::max(best, score(xs, h).accuracy);
    EXPECT_GT(best, 0.7) << "lookahead " << L;  // chance 0.5
    std::printf("earlier generator, lookahead %d: best heuristic %.3f (chance 0.5)\n", L, best);
  }
}

}  // namespace
}  // namespace attend::graph
