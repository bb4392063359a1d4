// The search task for the model runtime: sequences, a tiny trained model above chance on lookahead
// 1, and the path-merging probe (checked on hand-built attention patterns with known answers).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "attend/attend.h"

namespace attend::graph {
namespace {

TEST(GraphSearchModel, SequencesFollowThePaperEncoding) {
  constexpr std::int64_t V = 20, T = 32;
  EXPECT_EQ(max_search_lookahead(V, T), 3);  // 1 + 3·3 = 10 <= 16 labels, 9·3 + 5 = 32 <= 32 tokens
  EXPECT_EQ(max_search_lookahead(7, 100), 0);
  for (int la = 1; la <= 3; ++la)
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      const SearchProblem p = search_problem(la, V, seed);
      const SearchSequence s = search_sequence(p, V, T);
      ASSERT_EQ(s.tokens.size(), static_cast<std::size_t>(T));
      const std::size_t edges = p.edges.size();
      for (std::size_t e = 0; e < edges; ++e) EXPECT_EQ(s.tokens[3 * e], V - 4);
      EXPECT_EQ(s.tokens[3 * edges], V - 3);
      EXPECT_EQ(s.tokens[3 * edges + 1], p.start);
      EXPECT_EQ(s.tokens[3 * edges + 2], p.goal);
      EXPECT_EQ(s.tokens[3 * edges + 3], V - 2);
      EXPECT_EQ(s.answer_at, static_cast<std::int64_t>(3 * edges + 4));
      EXPECT_EQ(s.tokens[static_cast<std::size_t>(s.answer_at)], p.start);
      for (std::size_t i = static_cast<std::size_t>(s.answer_at) + 1; i < s.tokens.size(); ++i) EXPECT_EQ(s.tokens[i], V - 1);
      // Independent check: the answer is the start's only out-neighbour from which BFS finds the goal.
      EXPECT_EQ(bfs_distance(p, s.answer, p.goal), la - 1);
      EXPECT_EQ(bfs_distance(p, p.start, p.goal), la);
      int out_degree = 0;
      for (auto [u, v] : p.edges) out_degree += u == p.start;
      EXPECT_EQ(out_degree, kSearchBranches);
    }
  EXPECT_THROW(search_sequence(search_problem(5, 40, 0), 40, T), Error);  // >= 50 tokens > 32
  EXPECT_THROW(search_problem(6, V, 0), Error);                           // 19 vertices > 16 labels
  EXPECT_THROW(nn::TaskData(nn::Task::search, 7, 64), Error);
  EXPECT_EQ(nn::parse_task("search"), nn::Task::search);
  const nn::TaskData data(nn::Task::search, V, T);
  const nn::Batch b = data.batch(8, 1, 2);
  EXPECT_EQ(b.tokens, data.batch(8, 1, 2).tokens);
  for (std::int64_t r = 0; r < b.B; ++r)  // exactly one scored target per sequence, a vertex label
    EXPECT_EQ(std::count_if(b.targets.begin() + r * T, b.targets.begin() + (r + 1) * T, [](int t) { return t >= 0 && t < V - 4; }), 1);
}

TEST(GraphSearchModel, ProbeScoresTheConstructedPatternAsMerging) {
  std::vector<SearchProblem> ps;
  std::vector<observe::Recording> constructed, uniform;
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    ps.push_back(search_problem(3, 20, seed));
    constructed.push_back(constructed_search_recording(ps.back(), 20, 2));
    observe::Recording u = constructed.back();  // causal uniform attention over every earlier token
    for (auto& lr : u.layers)
      for (std::int64_t q = 0; q < u.n; ++q)
        for (std::int64_t j = 0; j < u.n; ++j) lr.weights[0][static_cast<std::size_t>(q * u.n + j)] = j <= q ? 1.0f / static_cast<float>(q + 1) : 0.0f;
    uniform.push_back(std::move(u));
  }
  const SearchProbe c = probe_search(ps, constructed), u = probe_search(ps, uniform);
  ASSERT_EQ(c.layers.size(), 2u);
  for (int l = 0; l < 2; ++l) {
    const SearchProbeLayer &cl = c.layers[static_cast<std::size_t>(l)], &ul = u.layers[static_cast<std::size_t>(l)];
    EXPECT_GT(cl.forward_rows, 0);
    EXPECT_DOUBLE_EQ(cl.forward[0], 1.0);   // all its attention to other vertices lands on reached ones
    EXPECT_DOUBLE_EQ(cl.backward[0], 0.0);  // a DAG: what x reaches never reaches x
    EXPECT_NEAR(ul.forward[0], ul.forward_uniform, 1e-9);  // uniform weights score their baseline
    EXPECT_NEAR(ul.backward[0], ul.backward_uniform, 1e-9);
    EXPECT_LT(ul.forward_uniform, 0.9);
  }
  EXPECT_LE(c.layers[0].forward_rows, c.layers[1].forward_rows);  // R grows with the layer
  EXPECT_THROW(probe_search(ps, {}), Error);
}

TEST(GraphSearchModel, TinyTrainedModelBeatsChanceOnLookaheadOne) {
  nn::ModelConfig c;
  c.vocab = 16;  // 12 vertex labels
  c.context = 23;  // lookahead 1 .. 2
  c.d_model = 32;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 64;
  nn::Model model(c, 3);
  const nn::TaskData data(nn::Task::search, c.vocab, c.context);
  nn::TrainConfig tc;
  tc.steps = 200;
  tc.batch = 32;
  tc.lr = 3e-3f;
  tc.warmup = 20;
  tc.weight_decay = 0;
  nn::Trainer tr(model, data, tc);
  tr.run();
  const double acc1 = search_accuracy(model, 1, 200, 7);
  const SearchEval e2 = search_eval(model, 2, 50, 7);
  EXPECT_LE(e2.accuracy, e2.neighbour);  // every right answer is an out-neighbour of the start
  RecordProperty("accuracy_lookahead_1", std::to_string(acc1));
  EXPECT_GT(acc1, 0.8);  // chance: 1/2 among the start's out-neighbours, 1/12 among labels
  const SearchProbe p = probe_search_model(model, 2, 20, 7);
  ASSERT_EQ(p.layers.size(), 2u);
  for (const auto& l : p.layers)
    for (double s : l.forward) EXPECT_TRUE(s >= 0 && s <= 1);
}

}  // namespace
}  // namespace attend::graph
