// The search model in the lab: the path-merging probe (checked on the constructed pattern and on
// uniform attention, whose answers are known) and a tiny model trained with the curriculum.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "attend/attend.h"

namespace attend::graph {
namespace {

TEST(GraphSearchModel, ProbeReadsTheConstructedPatternsReach) {
  constexpr std::int64_t S = 50;
  std::vector<SearchExample> xs;
  std::vector<observe::Recording> constructed, uniform;
  for (int i = 0; i < 30; ++i) {
    xs.push_back(search_held_out(S, 6, i));
    constructed.push_back(constructed_search_recording(xs.back(), S, 3));
    observe::Recording u = constructed.back();  // causal uniform attention over every earlier token
    for (auto& lr : u.layers)
      for (std::int64_t q = 0; q < u.n; ++q)
        for (std::int64_t j = 0; j < u.n; ++j) lr.weights[0][static_cast<std::size_t>(q * u.n + j)] = j <= q ? 1.0f / static_cast<float>(q + 1) : 0.0f;
    uniform.push_back(std::move(u));
  }
  const SearchProbe c = probe_search(xs, constructed), u = probe_search(xs, uniform);
  ASSERT_EQ(c.layers.size(), 3u);
  for (int l = 0; l < 3; ++l) {
    const SearchProbeLayer &cl = c.layers[static_cast<std::size_t>(l)], &ul = u.layers[static_cast<std::size_t>(l)];
    EXPECT_GT(cl.rows, 0);
    double within = 0;  // the constructed layer l attends only to vertices within 2^l forward hops
    for (int d = 1; d <= (1 << l) && d <= c.max_distance; ++d) within += cl.forward[0][static_cast<std::size_t>(d)];
    EXPECT_NEAR(within, 1.0, 1e-9) << "layer " << l;  // none unreached (bucket 0), none beyond 2^l
    double back = 0;  // a DAG: what x reaches never reaches x
    for (std::size_t d = 1; d < cl.backward[0].size(); ++d) back += cl.backward[0][d];
    EXPECT_NEAR(back, 0.0, 1e-9);
    EXPECT_EQ(cl.forward_reach[0], 1 << l) << "layer " << l;  // reach doubles per layer
    EXPECT_EQ(ul.forward_reach[0], 0);                        // uniform weights reach nothing in particular
    EXPECT_EQ(ul.backward_reach[0], 0);
    for (std::size_t d = 0; d < ul.forward_uniform.size(); ++d) EXPECT_NEAR(ul.forward[0][d], ul.forward_uniform[d], 1e-9);
  }
  // Flow reach: the constructed pattern's grows with every layer (its layer l reaches 2^l further),
  // uniform attention focuses nowhere and reaches nothing.
  ASSERT_EQ(c.flow_forward.size(), 3u);
  EXPECT_GT(c.flow_forward[0], 0.3);
  EXPECT_GT(c.flow_forward[1], c.flow_forward[0] * 1.5);
  EXPECT_GT(c.flow_forward[2], c.flow_forward[1] * 1.2);
  for (double f : u.flow_forward) EXPECT_EQ(f, 0.0);
  EXPECT_THROW(probe_search(xs, {}), Error);
}

TEST(GraphSearchModel, TinyTrainedModelSolvesLookaheadOne) {
  nn::ModelConfig c;
  c.context = 20;  // Saparov et al.'s encoding at max input 20: 5 labels, vocab 10, lookahead <= 2
  c.vocab = search_encoding(c.context).vocab;
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
  tc.curriculum = true;
  nn::Trainer tr(model, data, tc);
  EXPECT_EQ(tr.level(), 1);
  tr.run();
  const SearchEval e1 = search_eval(model, 1, 200), e2 = search_eval(model, 2, 50);
  EXPECT_LE(e2.accuracy, e2.neighbour);  // every right answer is an out-neighbour of the current vertex
  RecordProperty("accuracy_lookahead_1", std::to_string(e1.accuracy));
  EXPECT_GT(e1.accuracy, e1.chance + 0.3);
  EXPECT_GE(tr.curve().back().level, 1);
  // The curriculum level is part of the checkpoint.
  const std::string ck = ::testing::TempDir() + "search_tiny.safetensors";
  tr.save_checkpoint(ck);
  nn::Model fresh(c, 4);
  nn::Trainer resumed(fresh, data, tc);
  EXPECT_EQ(resumed.level(), 1);
  resumed.load_checkpoint(ck);
  EXPECT_EQ(resumed.level(), tr.level());
  EXPECT_EQ(resumed.curve().back().accuracy, tr.curve().back().accuracy);
  const SearchProbe p = probe_search_model(model, 2, 20);
  ASSERT_EQ(p.layers.size(), 2u);
  for (const auto& l : p.layers)
    for (const auto& h : l.forward)
      for (double s : h) EXPECT_TRUE(s >= 0 && s <= 1);
}

}  // namespace
}  // namespace attend::graph
