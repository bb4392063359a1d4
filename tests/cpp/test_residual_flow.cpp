// The residual stream as a flow: the exact assignment / W₂ solver against brute force, and the
// flow measures against hand-made states and a model's own trace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "attend/error.h"
#include "attend/lab.h"
#include "attend/residual_flow.h"
#include "attend/trace.h"
#include "attend/transport.h"

namespace attend {
namespace {

double brute_force_assignment(const std::vector<double>& cost, int n) {
  std::vector<int> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  double best = INFINITY;
  do {
    double s = 0;
    for (int i = 0; i < n; ++i) s += cost[static_cast<std::size_t>(i * n + perm[static_cast<std::size_t>(i)])];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(Transport, AssignmentEqualsBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-5, 5);
  for (int n = 1; n <= 7; ++n)
    for (int trial = 0; trial < 30; ++trial) {
      std::vector<double> cost(static_cast<std::size_t>(n * n));
      for (double& c : cost) c = trial % 3 == 0 ? std::round(u(rng)) : u(rng);  // every third: many ties
      const graph::Assignment a = graph::min_cost_assignment(cost, n);
      std::vector<int> sorted = a.match;
      std::sort(sorted.begin(), sorted.end());
      for (int i = 0; i < n; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i) << "not a permutation, n = " << n;
      double s = 0;
      for (int i = 0; i < n; ++i) s += cost[static_cast<std::size_t>(i * n + a.match[static_cast<std::size_t>(i)])];
      EXPECT_NEAR(a.cost, s, 1e-9);
      EXPECT_NEAR(a.cost, brute_force_assignment(cost, n), 1e-9) << "n = " << n << ", trial " << trial;
    }
}

TEST(Transport, Wasserstein2EqualsBruteForceOnSmallClouds) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> g(0, 1);
  for (int n = 1; n <= 7; ++n) {
    const int d = 3;
    std::vector<float> x(static_cast<std::size_t>(n * d)), y(x.size());
    for (float& v : x) v = g(rng);
    for (float& v : y) v = g(rng);
    std::vector<double> cost(static_cast<std::size_t>(n * n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int k = 0; k < d; ++k) s += std::pow(double(x[static_cast<std::size_t>(i * d + k)]) - y[static_cast<std::size_t>(j * d + k)], 2);
        cost[static_cast<std::size_t>(i * n + j)] = s;
      }
    EXPECT_NEAR(graph::wasserstein2(x, y, n, d), std::sqrt(brute_force_assignment(cost, n) / n), 1e-9) << "n = " << n;
    // A permutation of the same cloud costs nothing; a translation by c costs exactly |c|.
    std::vector<float> shuffled(x.size()), moved(x.size());
    std::vector<int> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const float c[3] = {0.5f, -1.0f, 2.0f};
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < d; ++k) {
        shuffled[static_cast<std::size_t>(i * d + k)] = x[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)] * d + k)];
        moved[static_cast<std::size_t>(i * d + k)] = x[static_cast<std::size_t>(i * d + k)] + c[k];
      }
    EXPECT_NEAR(graph::wasserstein2(x, shuffled, n, d), 0.0, 1e-6);
    EXPECT_NEAR(graph::wasserstein2(x, moved, n, d), std::sqrt(0.25 + 1.0 + 4.0), 1e-5);
  }
}

TEST(Transport, LargerCloudsAgreeWithAGreedyUpperBound) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> g(0, 1);
  const int n = 300, d = 16;
  std::vector<float> x(static_cast<std::size_t>(n * d)), y(x.size());
  for (float& v : x) v = g(rng);
  for (float& v : y) v = g(rng) + 0.3f;
  const double w2 = graph::wasserstein2(x, y, n, d);
  // The identity coupling is one feasible plan: the optimum cannot cost more.
  double ident = 0;
  for (std::size_t i = 0; i < x.size(); ++i) ident += std::pow(double(x[i]) - y[i], 2);
  EXPECT_LE(w2, std::sqrt(ident / n) + 1e-9);
  EXPECT_GT(w2, 0.3 * std::sqrt(d) - 1e-6);  // at least the distance between the means (Jensen)
}

TEST(Transport, BadInputIsRefusedByName) {
  EXPECT_THROW((void)graph::min_cost_assignment(std::vector<double>{1, 2, 3}, 2), Error);
  EXPECT_THROW((void)graph::min_cost_assignment(std::vector<double>{1, NAN, 3, 4}, 2), Error);
  std::vector<float> x(6);
  EXPECT_THROW((void)graph::wasserstein2(x, std::vector<float>(5), 2, 3), Error);
  EXPECT_THROW((void)graph::wasserstein2(x, x, 0, 3), Error);
  EXPECT_EQ(graph::min_cost_assignment({}, 0).match.size(), 0u);
}

TEST(ResidualFlow, HandMadeStatesGiveTheirOwnDisplacements) {
  // One layer, two tokens in E = 2: attention moves token 1 by (3, 0), the MLP by (0, 4).
  const std::vector<std::vector<float>> pre = {{1, 0, 0, 1}}, mid = {{1, 0, 3, 1}}, post = {{1, 0, 3, 5}};
  const std::vector<float> u = {0, 2};  // the predicted token's unembedding points along the 2nd axis
  lab::ResidualFlowOptions o;
  const lab::ResidualFlow f = lab::residual_flow_from_states(pre, mid, post, u, 2, 2, o);
  ASSERT_EQ(f.layers.size(), 1u);
  const lab::ResidualLayerFlow& l = f.layers[0];
  EXPECT_DOUBLE_EQ(l.update[0], 0.0);
  EXPECT_DOUBLE_EQ(l.attention[1], 3.0);
  EXPECT_DOUBLE_EQ(l.mlp[1], 4.0);
  EXPECT_DOUBLE_EQ(l.update[1], 5.0);
  EXPECT_DOUBLE_EQ(l.mean_update, 2.5);
  EXPECT_DOUBLE_EQ(l.last_attention_along, 0.0);
  EXPECT_DOUBLE_EQ(l.last_mlp_along, 4.0);
  EXPECT_NEAR(l.last_cos, 5 / std::sqrt(34.0), 1e-12);
  EXPECT_NEAR(f.embedded_last_cos, 1.0, 1e-12);
  // W₂ between {(1,0), (0,1)} and {(1,0), (3,5)}: the identity coupling, mean cost 25/2.
  EXPECT_NEAR(l.w2, std::sqrt(12.5), 1e-9);
  EXPECT_THROW((void)lab::residual_flow_from_states(pre, mid, post, std::vector<float>{1}, 2, 2, o), Error);
}

// Records the trace so the test can check what residual_flow measured against the states.
class Recorder final : public ModelTraceSink {
 public:
  std::vector<std::vector<float>> pre, mid, post;
  void on_layer(const LayerTrace& t) override {
    const auto s = static_cast<std::size_t>(t.tokens * t.d_model);
    pre.emplace_back(t.resid_pre, t.resid_pre + s);
    mid.emplace_back(t.resid_mid, t.resid_mid + s);
    post.emplace_back(t.resid_post, t.resid_post + s);
  }
};

TEST(ResidualFlow, ModelUpdatesSplitIntoAttentionAndMlpAndChainAcrossLayers) {
  nn::ModelConfig c;
  c.vocab = 13, c.context = 24, c.d_model = 16, c.layers = 3, c.heads = 2, c.kv_heads = 2, c.d_ff = 32;
  const nn::Model model(c, 3);
  const std::vector<std::int32_t> tokens = {1, 5, 2, 7, 1, 5, 2, 9, 4, 4, 0, 12};
  const lab::ResidualFlow f = lab::residual_flow(model, tokens);
  Recorder rec;
  const Tensor logits = model.forward(tokens, &rec);
  ASSERT_EQ(f.layers.size(), 3u);
  const std::int64_t n = 12, e = 16;
  const float* last = logits.data_as<float>() + (n - 1) * c.vocab;
  EXPECT_EQ(f.predicted, std::max_element(last, last + c.vocab) - last);
  for (std::size_t l = 0; l < 3; ++l) {
    if (l > 0) {
      EXPECT_EQ(rec.pre[l], rec.post[l - 1]) << "layer " << l << " does not start where the previous one ended";
    }
    for (std::int64_t i = 0; i < n; ++i) {
      // attention's part + the MLP's part = the whole update, as vectors (to float rounding)
      double err = 0, total = 0;
      for (std::int64_t k = 0; k < e; ++k) {
        const auto at = static_cast<std::size_t>(i * e + k);
        const double a = double(rec.mid[l][at]) - rec.pre[l][at], m = double(rec.post[l][at]) - rec.mid[l][at];
        const double t = double(rec.post[l][at]) - rec.pre[l][at];
        err += (a + m - t) * (a + m - t), total += t * t;
      }
      EXPECT_LE(std::sqrt(err), 1e-6 * (1 + std::sqrt(total)));
      EXPECT_NEAR(f.layers[l].update[static_cast<std::size_t>(i)], std::sqrt(total), 1e-9 * (1 + std::sqrt(total)));
      EXPECT_LE(f.layers[l].update[static_cast<std::size_t>(i)],
                f.layers[l].attention[static_cast<std::size_t>(i)] + f.layers[l].mlp[static_cast<std::size_t>(i)] + 1e-9);
    }
    EXPECT_GT(f.layers[l].mean_attention, 0);
    EXPECT_GT(f.layers[l].mean_mlp, 0);
    EXPECT_GE(f.layers[l].w2, 0);
    EXPECT_GE(f.layers[l].clusters, 1);
    EXPECT_LE(f.layers[l].clusters, 12);
  }
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

TEST(ResidualFlow, InspectReportsTheSameFlowAsTheModelRun) {
  nn::ModelConfig c;
  c.vocab = 13, c.context = 24, c.d_model = 16, c.layers = 2, c.heads = 2, c.kv_heads = 2, c.d_ff = 32;
  const nn::Model model(c, 5);
  const std::vector<std::int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  lab::InspectOptions o;
  o.detectors = false, o.emf = false;
  const lab::Inspection ins = lab::inspect(model, tokens, o);
  ASSERT_TRUE(ins.report.flow.has_value());
  const observe::FlowPanel& p = *ins.report.flow;
  const lab::ResidualFlow f = lab::residual_flow(model, tokens);
  EXPECT_EQ(p.predicted, f.predicted);
  ASSERT_EQ(p.mean_update.size(), 2u);
  for (std::size_t l = 0; l < 2; ++l) {
    EXPECT_NEAR(p.mean_update[l], f.layers[l].mean_update, 1e-9);
    EXPECT_NEAR(p.mean_mlp[l], f.layers[l].mean_mlp, 1e-9);
    EXPECT_NEAR(p.w2[l], f.layers[l].w2, 1e-9);
    EXPECT_EQ(p.clusters[l], f.layers[l].clusters);
    EXPECT_NEAR(p.last_cos[l], f.layers[l].last_cos, 1e-6);
  }
  EXPECT_NE(observe::report_json(ins.rec, ins.report).find("\"flow\":{"), std::string::npos);
}

}  // namespace
}  // namespace attend
