// The report's analysis panels: head-similarity map, composition matrix, rollout rows and
// distance bins on hand-computed cases, and the panels' data embedded in the report.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "attend/error.h"
#include "attend/observe_metrics.h"
#include "attend/observe_report.h"
#include "observe/induction_toy.h"

namespace attend {
namespace {

double distance2d(const std::vector<double>& xy, int a, int b) {
  return std::hypot(xy[static_cast<std::size_t>(2 * a)] - xy[static_cast<std::size_t>(2 * b)],
                    xy[static_cast<std::size_t>(2 * a + 1)] - xy[static_cast<std::size_t>(2 * b + 1)]);
}

TEST(ObservePanels, HeadSimilarityMapOfHandBuiltHeads) {
  // n = 2. a and c: both rows on key 0. b: row 0 on key 0, row 1 on key 1.
  // JS(a, b): row 0: 0; row 1: p = [1, 0], q = [0, 1], m = [½, ½]: ½·ln 2 + ½·ln 2 = ln 2. Mean: ln 2 / 2.
  const std::vector<float> a = {1, 0, 1, 0}, b = {1, 0, 0, 1}, c = a;
  const auto map = observe::head_similarity_map({a, b, c}, 2);
  ASSERT_EQ(map.count, 3);
  const double ln2 = std::log(2.0);
  EXPECT_NEAR(map.js[0 * 3 + 1], ln2 / 2, 1e-12);
  EXPECT_NEAR(map.js[1 * 3 + 0], ln2 / 2, 1e-12);
  EXPECT_NEAR(map.js[0 * 3 + 2], 0.0, 1e-12);
  EXPECT_NEAR(map.js[1 * 3 + 2], ln2 / 2, 1e-12);
  EXPECT_EQ(map.js[1 * 3 + 1], 0.0);
  // The map puts a and c together and b at distance √JS from both.
  EXPECT_NEAR(distance2d(map.xy, 0, 2), 0.0, 1e-9);
  EXPECT_NEAR(distance2d(map.xy, 0, 1), std::sqrt(ln2 / 2), 1e-9);
  EXPECT_NEAR(distance2d(map.xy, 2, 1), std::sqrt(ln2 / 2), 1e-9);
  // Row sampling: n = 3 with max_rows = 2 reads rows 0 and 2 only (row 1 differs, rows 0 and 2 agree).
  const std::vector<float> d = {1, 0, 0, 0, 1, 0, 0, 0, 1}, e = {1, 0, 0, 1, 0, 0, 0, 0, 1};
  EXPECT_NEAR(observe::head_similarity_map({d, e}, 3, 2).js[1], 0.0, 1e-12);
  EXPECT_NEAR(observe::head_similarity_map({d, e}, 3).js[1], ln2 / 3, 1e-12);
  EXPECT_THROW(observe::head_similarity_map({a, std::vector<float>(3, 0.0f)}, 2), Error);
}

TEST(ObservePanels, CompositionMatrixOfHandBuiltOperators) {
  // E = 2, 2 layers × 1 head. Earlier F1 = e0·e0ᵀ; later M2 = e0·e0ᵀ, F2 = e1·e1ᵀ.
  // Q: ‖F1·M2‖ / (‖F1‖‖M2‖) = 1; K: ‖M2·F1ᵀ‖ / (‖M2‖‖F1‖) = 1; V: ‖F1·F2‖ / (‖F1‖‖F2‖) = 0.
  observe::HeadOperators h0, h1;
  h0.m = {0, 0, 0, 1};
  h0.f = {1, 0, 0, 0};
  h1.m = {1, 0, 0, 0};
  h1.f = {0, 0, 0, 1};
  const auto c = observe::composition_matrix({h0, h1}, 1);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_NEAR(c[1 * 2 + 0].q, 1.0, 1e-12);
  EXPECT_NEAR(c[1 * 2 + 0].k, 1.0, 1e-12);
  EXPECT_NEAR(c[1 * 2 + 0].v, 0.0, 1e-12);
  for (int i : {0, 1, 3}) EXPECT_EQ(c[static_cast<std::size_t>(i)].q + c[static_cast<std::size_t>(i)].k + c[static_cast<std::size_t>(i)].v, 0.0) << i;
  // Two heads in one layer: no composition between them.
  for (const auto& x : observe::composition_matrix({h0, h1}, 2)) EXPECT_EQ(x.q + x.k + x.v, 0.0);
  EXPECT_THROW(observe::composition_matrix({h0, h1, h0}, 2), Error);
}

TEST(ObservePanels, RolloutRowsByHandAndAgainstFullRollout) {
  // A = [[1, 0], [1, 0]]: Â = rownorm(A + I) = [[1, 0], [½, ½]]; two such layers:
  // row 1 of Â·Â = [½·1 + ½·½, ½·½] = [¾, ¼].
  const std::vector<std::vector<double>> two = {{1, 0, 1, 0}, {1, 0, 1, 0}};
  const std::int64_t row1[] = {1};
  const auto r = observe::rollout_rows(two, 2, row1);
  EXPECT_NEAR(r[0], 0.75, 1e-12);
  EXPECT_NEAR(r[1], 0.25, 1e-12);
  // Random causal layers (awkward n = 7): every row equals the full product's row.
  const std::int64_t n = 7;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> layers(3, std::vector<double>(n * n, 0.0));
  for (auto& a : layers)
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j <= i; ++j) s += a[static_cast<std::size_t>(i * n + j)] = u(rng);
      for (std::int64_t j = 0; j <= i; ++j) a[static_cast<std::size_t>(i * n + j)] /= s;
    }
  const auto full = observe::rollout(layers, n);
  const std::int64_t rows[] = {0, 3, 6};
  const auto part = observe::rollout_rows(layers, n, rows);
  for (std::size_t k = 0; k < 3; ++k)
    for (std::int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(part[k * n + static_cast<std::size_t>(j)], full[static_cast<std::size_t>(rows[k] * n + j)], 1e-12);
  const std::int64_t bad[] = {7};
  EXPECT_THROW(observe::rollout_rows(layers, n, bad), Error);
}

TEST(ObservePanels, DistanceEdges) {
  EXPECT_EQ(observe::log2_distance_edges(1), std::vector<int>({0}));
  EXPECT_EQ(observe::log2_distance_edges(10), std::vector<int>({0, 1, 2, 4, 8}));
  EXPECT_EQ(observe::log2_distance_edges(9), std::vector<int>({0, 1, 2, 4, 8}));
}

TEST(ObservePanels, ReportCarriesEveryPanel) {
  const observe::toy::InductionModel model(16, 48, 1);
  observe::Recording rec;
  rec.title = "abcdefg abcdefg";
  observe::toy::tokenize_chars(rec.title, model.vocab(), rec.tokens, rec.token_ids);
  rec.n = static_cast<std::int64_t>(rec.tokens.size());
  observe::RecordingSink sink(rec, 2, 2, observe::Selection{});
  model.forward(rec.token_ids, &sink);
  observe::ReportOptions opts;
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) opts.operators.push_back(observe::head_operators(model.head_weights(l, h)));
  const std::string html = observe::report_html(rec, opts);
  const std::string open = "<script type=\"application/json\" id=\"attend-data\">";
  const auto b = html.find(open) + open.size(), e = html.find("</script>", b);
  const auto data = nlohmann::json::parse(html.substr(b, e - b));
  const auto n = static_cast<std::size_t>(rec.n);
  // Distance histograms: mass per bin, summing to 1 (every row is a distribution).
  ASSERT_EQ(data["full"].size(), 4u);
  for (const auto& f : data["full"]) {
    double total = 0;
    for (double x : f["hist"]) total += x;
    EXPECT_NEAR(total, 1.0, 1e-4);  // the JSON holds 5 significant digits (display precision)
    EXPECT_EQ(f["share0"].size(), n);
  }
  EXPECT_EQ(data["hist_edges"].size(), observe::log2_distance_edges(rec.n).size());
  // Head map over the 4 full heads; composition 4 × 4; rollout rows for all queries, flow (n <= 24).
  EXPECT_EQ(data["headmap"]["js"].size(), 16u);
  EXPECT_EQ(data["headmap"]["xy"].size(), 8u);
  EXPECT_EQ(data["composition"]["k"].size(), 16u);
  const auto comp = observe::composition(opts.operators[0], opts.operators[3]);
  EXPECT_NEAR(data["composition"]["k"][3 * 4 + 0].get<double>(), comp.k, 1e-4 * comp.k);
  EXPECT_EQ(data["rollout"]["rows"].size(), n);
  EXPECT_EQ(data["rollout"]["flow"].size(), n * n);
  for (const char* id : {"\"share\"", "\"hist\"", "\"headmap\"", "\"rollout\"", "\"opsv\"", "\"comp\"", "\"files\""})
    EXPECT_NE(html.find(std::string("id=") + id), std::string::npos) << id;
}

}  // namespace
}  // namespace attend
