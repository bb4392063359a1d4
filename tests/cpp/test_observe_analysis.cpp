// The observatory's analysis: rollout/flow by hand, metrics on known matrices, head types on the
// hand-built induction model, EMF operators, trajectories, exports and report escaping.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "attend/observe_metrics.h"
#include "attend/error.h"
#include "attend/observe_report.h"
#include "observe/induction_toy.h"

namespace attend {
namespace {

using observe::Recording;

TEST(ObserveFlow, RolloutOfHandBuiltTwoLayersIsTheHandProduct) {
  // A0 = [[1, 0], [.5, .5]], A1 = [[1, 0], [.2, .8]]
  // Â0 = rownorm(A0 + I) = [[1, 0], [.25, .75]], Â1 = [[1, 0], [.1, .9]]
  // R = Â1·Â0 = [[1, 0], [.1 + .9·.25, .9·.75]] = [[1, 0], [.325, .675]]
  const std::vector<std::vector<double>> layers = {{1, 0, 0.5, 0.5}, {1, 0, 0.2, 0.8}};
  const auto r = observe::rollout(layers, 2);
  const double want[4] = {1, 0, 0.325, 0.675};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(r[static_cast<std::size_t>(i)], want[i], 1e-12) << i;
  // Flow to output 1: from input 0 along 0→0→1 (min(1, .1)) and 0→1→1 (min(.25, .9)) = .35;
  // from input 1 along 1→1→1 = min(.75, .9) = .75 (1→0 has capacity 0).
  const auto f = observe::attention_flow(layers, 2);
  EXPECT_NEAR(f[2], 0.35, 1e-12);
  EXPECT_NEAR(f[3], 0.75, 1e-12);
  EXPECT_NEAR(f[0], 1.0, 1e-12);  // 0→0→0
  EXPECT_NEAR(f[1], 0.0, 1e-12);
  EXPECT_THROW(observe::rollout({{1, 0, 0}}, 2), Error);
  EXPECT_THROW(observe::attention_flow({std::vector<double>(65 * 65, 0.0)}, 65), Error);
}

TEST(ObserveMetrics, KnownMatrices) {
  // Uniform causal attention over n keys: normalised entropy 1, decay curve 1/(i+1) averaged.
  const std::int64_t n = 6;
  std::vector<float> a(n * n, 0.0f), prev(n * n, 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j <= i; ++j) a[static_cast<std::size_t>(i * n + j)] = 1.0f / static_cast<float>(i + 1);
    prev[static_cast<std::size_t>(i * n + (i > 0 ? i - 1 : 0))] = 1.0f;
  }
  RowStats s;
  s.visible = 4; s.lse = 0; s.entropy = std::log(4.0f);
  EXPECT_NEAR(observe::normalized_entropy(s), 1.0f, 1e-6f);
  s.visible = 1;
  EXPECT_EQ(observe::normalized_entropy(s), 0.0f);
  const auto decay = observe::decay_by_distance(prev, n);
  EXPECT_NEAR(decay[1], 1.0, 1e-12);
  EXPECT_NEAR(decay[0], 1.0 / 6, 1e-12);  // only row 0 puts mass at distance 0
  const auto share = observe::token_share(a, n, 0);  // the first token's share falls as 1/(i+1)
  for (std::size_t i = 0; i < share.size(); ++i) EXPECT_NEAR(share[i], 1.0 / static_cast<double>(i + 1), 1e-6);
  const int edges[] = {0, 1, 2};
  const auto hist = observe::distance_histogram(prev, n, edges);
  EXPECT_NEAR(hist[0], 1.0 / 6, 1e-12);
  EXPECT_NEAR(hist[1], 5.0 / 6, 1e-12);
  EXPECT_NEAR(hist[2], 0.0, 1e-12);
  EXPECT_NEAR(observe::js_divergence(a, a, n), 0.0, 1e-12);
  EXPECT_NEAR(observe::js_divergence(prev, prev, n), 0.0, 1e-12);
  const double js = observe::js_divergence(a, prev, n);
  EXPECT_GT(js, 0.1);
  EXPECT_LE(js, std::log(2.0));
  const int toks[] = {3, 1, 3, 1, 3, 1};
  const auto t = observe::head_type_scores(prev, toks);
  EXPECT_NEAR(t.previous_token, 1.0, 1e-12);
  EXPECT_NEAR(t.duplicate_token, 0.0, 1e-12);
  // MDS of points on a line at 0, 1, 3 recovers their distances.
  const std::vector<double> d = {0, 1, 3, 1, 0, 2, 3, 2, 0};
  const auto xy = observe::classical_mds(d, 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(std::hypot(xy[i * 2] - xy[j * 2], xy[i * 2 + 1] - xy[j * 2 + 1]), d[static_cast<std::size_t>(i * 3 + j)], 1e-9);
}

Recording record_induction(const observe::toy::InductionModel& model, std::int64_t half, std::uint64_t seed) {
  Recording rec;
  std::mt19937_64 rng(seed);
  for (std::int64_t i = 0; i < half; ++i) rec.token_ids.push_back(static_cast<int>(rng() % static_cast<std::uint64_t>(model.vocab())));
  for (std::int64_t i = 0; i < half; ++i) rec.token_ids.push_back(rec.token_ids[static_cast<std::size_t>(i)]);  // repeat
  rec.n = 2 * half;
  for (int t : rec.token_ids) {
    std::string label = "t";
    label += std::to_string(t);
    rec.tokens.push_back(label);
  }
  observe::RecordingSink sink(rec, 2, 2, observe::Selection{});
  model.forward(rec.token_ids, &sink);
  return rec;
}

TEST(ObserveHeads, HeadTypeScoresFindTheInductionCircuit) {
  const observe::toy::InductionModel model(32, 64, 7);
  const Recording rec = record_induction(model, 24, 3);
  double best[3] = {-1, -1, -1};
  int where[3][2] = {};
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) {
      const auto s = observe::head_type_scores(rec.weights(l, h), rec.token_ids);
      const double v[3] = {s.previous_token, s.duplicate_token, s.induction};
      for (int k = 0; k < 3; ++k)
        if (v[k] > best[k]) { best[k] = v[k]; where[k][0] = l; where[k][1] = h; }
    }
  EXPECT_EQ(where[0][0], 0); EXPECT_EQ(where[0][1], 0);  // previous-token head: layer 0 head 0
  EXPECT_EQ(where[1][0], 1); EXPECT_EQ(where[1][1], 1);  // duplicate-token head: layer 1 head 1
  EXPECT_EQ(where[2][0], 1); EXPECT_EQ(where[2][1], 0);  // induction head: layer 1 head 0
  EXPECT_GT(best[0], 0.9);
  EXPECT_GT(best[2], 0.6);
  // The random control head is none of these.
  const auto control = observe::head_type_scores(rec.weights(0, 1), rec.token_ids);
  EXPECT_LT(control.induction, 0.5 * best[2]);
  // K-composition: the induction head reads what the previous-token head wrote, not the control's.
  const auto prev_op = observe::head_operators(model.head_weights(0, 0));
  const auto ctrl_op = observe::head_operators(model.head_weights(0, 1));
  const auto ind_op = observe::head_operators(model.head_weights(1, 0));
  EXPECT_GT(observe::composition(prev_op, ind_op).k, 0.05);
  EXPECT_LT(observe::composition(ctrl_op, ind_op).k, 1e-9);
  // Head similarity: the two heads of layer 1 differ; a head is identical to itself.
  EXPECT_GT(observe::js_divergence(rec.weights(1, 0), rec.weights(1, 1), rec.n), 0.05);
}

TEST(ObserveEmf, OperatorsOfKnownWeights) {
  // E = 3, D = 2: W_Q = [[2,0],[0,1],[0,0]], W_K = I (3x2 padded): M = W_Q·W_Kᵀ/√2 has σ = 2/√2, 1/√2, 0.
  observe::HeadWeights w;
  w.d_model = 3; w.head_dim = 2; w.v_dim = 2;
  w.wq = {2, 0, 0, 1, 0, 0};
  w.wk = {0, 1, 1, 0, 0, 0};  // swaps the two coordinates: M is antisymmetric + symmetric parts
  w.wv = {1, 0, 0, 1, 0, 0};
  w.wo = {0, 0, 3, 0, 1, 0};
  const auto op = observe::head_operators(w);
  ASSERT_EQ(op.m_singular.size(), 3u);
  EXPECT_NEAR(op.m_singular[0], 2 / std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(op.m_singular[1], 1 / std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(op.m_singular[2], 0.0, 1e-9);
  EXPECT_NEAR(op.f_singular[0], 3.0, 1e-9);
  EXPECT_NEAR(op.f_singular[1], 1.0, 1e-9);
  // M = [[0, 2], [1, 0]]/√2 (top-left): sym = [[0, 1.5], [1.5, 0]]/√2, anti = [[0, .5], [−.5, 0]]/√2
  EXPECT_NEAR(op.m_symmetric_norm, std::sqrt(2 * 1.5 * 1.5 / 2), 1e-9);
  EXPECT_NEAR(op.m_antisymmetric_norm, std::sqrt(2 * 0.5 * 0.5 / 2), 1e-9);
  w.wo.pop_back();
  EXPECT_THROW(observe::head_operators(w), Error);
}

TEST(ObserveTrajectory, PcaAndClustering) {
  // Points on a line in 3-D: PCA's first coordinate keeps their spacing, the second is ~0.
  std::vector<float> x = {0, 0, 0, 1, 2, 2, 2, 4, 4};  // [S=1, N=3, E=3]: t·(0.5,1,1)·2
  const auto p = observe::pca_2d(x, 1, 3, 3);
  EXPECT_NEAR(std::fabs(p[2] - p[0]), 3.0, 1e-5);
  EXPECT_NEAR(std::fabs(p[4] - p[2]), 3.0, 1e-5);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[static_cast<std::size_t>(i * 2 + 1)], 0.0, 1e-5);
  const std::vector<float> same = {1, 2, 2, 4, 3, 6}, orth = {1, 0, 0, 1};
  EXPECT_NEAR(observe::mean_pairwise_cosine(same, 3, 2), 1.0, 1e-9);
  EXPECT_NEAR(observe::mean_pairwise_cosine(orth, 2, 2), 0.0, 1e-9);
  EXPECT_THROW(observe::pca_2d(x, 2, 3, 3), Error);
}

TEST(ObserveGraph, PruningAndJsonExport) {
  const std::int64_t n = 3;
  const std::vector<float> a = {1, 0, 0, 0.7f, 0.3f, 0, 0.5f, 0.3f, 0.2f};
  const std::vector<std::string> tokens = {"<b>", "\"q\"", "x\xE2\x80\xA8y"};
  const auto top1 = observe::routing_graph(a, n, tokens, 1, 0.0);
  ASSERT_EQ(top1.edges.size(), 3u);
  EXPECT_EQ(top1.edges[2].from, 0);
  EXPECT_EQ(top1.edges[2].to, 2);
  const auto thresh = observe::routing_graph(a, n, tokens, 0, 0.25);
  EXPECT_EQ(thresh.edges.size(), 5u);
  const auto mass = observe::routing_graph(a, n, tokens, 0, 0.0, 0.75);  // row 2: .5 + .3 reaches .75
  EXPECT_EQ(mass.edges.size(), 5u);
  const auto j = nlohmann::json::parse(observe::to_json(thresh));
  EXPECT_EQ(j["nodes"][0]["label"], "<b>");
  EXPECT_EQ(j["edges"].size(), 5u);
  const std::string ml = observe::to_graphml(thresh);
  EXPECT_NE(ml.find("&lt;b&gt;"), std::string::npos);
  EXPECT_EQ(ml.find("<b>"), std::string::npos);
  EXPECT_NE(observe::to_dot(thresh).find("\\\"q\\\""), std::string::npos);
}

TEST(ObserveReport, TokenTextCannotInjectScript) {
  const observe::toy::InductionModel model(16, 48, 1);
  Recording rec;
  rec.title = "</script><script>alert(1)</script> \xE2\x80\xA8 & <!--";
  observe::toy::tokenize_chars(rec.title, model.vocab(), rec.tokens, rec.token_ids);
  rec.tokens.back() = "</script><script>alert(2)</script>";
  rec.n = static_cast<std::int64_t>(rec.tokens.size());
  observe::RecordingSink sink(rec, 2, 2, observe::Selection{});
  model.forward(rec.token_ids, &sink);
  const std::string html = observe::report_html(rec);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  // The embedded data is still valid JSON holding the original strings.
  const std::string open = "<script type=\"application/json\" id=\"attend-data\">";
  const auto b = html.find(open) + open.size(), e = html.find("</script>", b);
  EXPECT_EQ(html.substr(b, e - b).find("\xE2\x80\xA8"), std::string::npos);  // a JS line terminator
  const auto data = nlohmann::json::parse(html.substr(b, e - b));
  EXPECT_EQ(data["title"], rec.title);
  EXPECT_EQ(data["tokens"].back(), "</script><script>alert(2)</script>");
  EXPECT_EQ(data["full"].size(), 4u);
  EXPECT_EQ(observe::escape_html("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
  const Image img = observe::heatmap(rec.weights(1, 0), rec.n, 200);
  EXPECT_EQ(img.width(), static_cast<int>(rec.n * (200 / rec.n)));
}

}  // namespace
}  // namespace attend
