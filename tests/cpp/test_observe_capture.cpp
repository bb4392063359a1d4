// The observatory's capture: in-kernel streaming statistics against the same statistics computed
// from the reference's full matrix; selected rows; the Recording filled through ModelTraceSink.
#include <gtest/gtest.h>

#include <cmath>

#include "attend/observe_metrics.h"
#include "observe/induction_toy.h"
#include "test_util.h"

namespace attend {
namespace {

struct StatsCase {
  std::int64_t nq, nk, hq, hkv, d;
  bool causal;
  std::int64_t window;
  int sink;
};

// RowStats of one row computed plainly from its full weights and scores (the definition).
RowStats stats_from_row(std::span<const float> s, std::span<const float> p, std::int64_t ip, int sink) {
  RowStats st;
  double ent = 0, mass = 0, dist = 0, best = -1, z = 0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    if (!(s[j] > -INFINITY)) continue;
    ++st.visible;
    z += p[j];
    if (p[j] > 0) ent -= p[j] * std::log(static_cast<double>(p[j]));
    if (static_cast<std::int64_t>(j) < sink) mass += p[j];
    dist += p[j] * std::fabs(static_cast<double>(ip) - static_cast<double>(j));
    if (p[j] > best) { best = p[j]; st.argmax = static_cast<std::int32_t>(j); }
  }
  st.entropy = static_cast<float>(ent);
  st.sink_mass = static_cast<float>(mass);
  st.mean_distance = static_cast<float>(dist);
  st.max_weight = static_cast<float>(best < 0 ? 0 : best);
  return st;
}

class ObserveCaptureTable : public ::testing::TestWithParam<StatsCase> {};

TEST_P(ObserveCaptureTable, KernelStatsEqualStatsOfReferenceMatrix) {
  const StatsCase c = GetParam();
  Tensor q(DType::f32, {1, c.nq, c.hq, c.d}), k(DType::f32, {1, c.nk, c.hkv, c.d}), v(DType::f32, {1, c.nk, c.hkv, c.d});
  Tensor o(DType::f32, {1, c.nq, c.hq, c.d}), o_ref(DType::f32, {1, c.nq, c.hq, c.d});
  test::fill_uniform(q, 11 + static_cast<std::uint64_t>(c.nq), -2, 2);
  test::fill_uniform(k, 12, -2, 2);
  test::fill_uniform(v, 13);
  AttentionOptions opts;
  opts.causal = c.causal;
  opts.window_left = c.window;
  observe::StatsSink fast(1, c.hq, c.nq, c.sink);
  opts.capture = &fast;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  observe::RowSink full(c.hq, c.nq, c.nk, {}, {});  // the reference's full matrix (the test asks for it)
  opts.capture = &full;
  reference::attention(q.view(), k.view(), v.view(), o_ref.view(), opts);
  for (std::int64_t h = 0; h < c.hq; ++h)
    for (std::int64_t i = 0; i < c.nq; ++i) {
      ASSERT_TRUE(full.has(h, i));
      const RowStats want = stats_from_row(full.scores(h, i), full.weights(h, i), i + c.nk - c.nq, c.sink);
      const RowStats& got = fast.at(0, h, i);
      SCOPED_TRACE(::testing::Message() << "head " << h << " row " << i);
      ASSERT_EQ(got.visible, want.visible);
      if (want.visible == 0) {
        EXPECT_EQ(got.lse, -INFINITY);
        EXPECT_EQ(got.argmax, -1);
        EXPECT_EQ(got.entropy, 0.0f);
        continue;
      }
      const float tol = 2e-4f * (1 + std::log(static_cast<float>(c.nk)));
      EXPECT_NEAR(got.entropy, want.entropy, tol);
      EXPECT_NEAR(got.sink_mass, want.sink_mass, 1e-5f);
      EXPECT_NEAR(got.mean_distance, want.mean_distance, 1e-4f * (1 + want.mean_distance));
      EXPECT_NEAR(got.max_weight, want.max_weight, 1e-5f);
      // ties aside, the kernel's argmax carries the maximal weight
      EXPECT_NEAR(full.weights(h, i)[static_cast<std::size_t>(got.argmax)], want.max_weight, 1e-5f);
      EXPECT_LE(observe::normalized_entropy(got), 1.0f + 1e-4f);
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ObserveCaptureTable,
                         ::testing::Values(StatsCase{1, 1, 1, 1, 8, false, -1, 1}, StatsCase{7, 7, 2, 1, 16, true, -1, 1},
                                           StatsCase{65, 65, 3, 3, 32, true, -1, 4}, StatsCase{65, 130, 2, 2, 64, false, -1, 1},
                                           StatsCase{200, 100, 2, 1, 16, true, -1, 1},  // first 100 rows see nothing
                                           StatsCase{257, 257, 1, 1, 64, true, 31, 2}, StatsCase{1000, 1000, 1, 1, 16, true, -1, 1}));

TEST(ObserveCapture, KernelStatsWithLogitModifiersAndPositionOffset) {
  // Soft-cap, ALiBi and a position offset change the logits the stats see (and i' of the distance);
  // 130 queries over 150 keys: several key tiles per row, partial last tile, first rows masked short.
  const std::int64_t nq = 130, nk = 150, hq = 2, d = 16, offset = 3;
  Tensor q(DType::f32, {1, nq, hq, d}), k(DType::f32, {1, nk, hq, d}), v(DType::f32, {1, nk, hq, d});
  Tensor o(DType::f32, {1, nq, hq, d});
  test::fill_uniform(q, 21, -3, 3);
  test::fill_uniform(k, 22, -3, 3);
  test::fill_uniform(v, 23);
  const float slopes[] = {0.5f, 0.05f};
  AttentionOptions opts;
  opts.causal = true;
  opts.softcap = 5;
  opts.alibi_slopes = slopes;
  opts.position_offset = offset;
  observe::StatsSink fast(1, hq, nq, 3);
  opts.capture = &fast;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  observe::RowSink full(hq, nq, nk, {}, {});
  opts.capture = &full;
  reference::attention(q.view(), k.view(), v.view(), o.view(), opts);
  for (std::int64_t h = 0; h < hq; ++h)
    for (std::int64_t i = 0; i < nq; ++i) {
      const RowStats want = stats_from_row(full.scores(h, i), full.weights(h, i), i + nk - nq + offset, 3);
      const RowStats& got = fast.at(0, h, i);
      SCOPED_TRACE(::testing::Message() << "head " << h << " row " << i);
      ASSERT_EQ(got.visible, want.visible);
      EXPECT_NEAR(got.entropy, want.entropy, 2e-4f * (1 + std::log(static_cast<float>(nk))));
      EXPECT_NEAR(got.sink_mass, want.sink_mass, 1e-5f);
      EXPECT_NEAR(got.mean_distance, want.mean_distance, 1e-4f * (1 + want.mean_distance));
      EXPECT_NEAR(got.max_weight, want.max_weight, 1e-5f);
      EXPECT_NEAR(full.weights(h, i)[static_cast<std::size_t>(got.argmax)], want.max_weight, 1e-5f);
    }
}

TEST(ObserveCapture, SelectedRowsMatchReferenceAndOthersAreNotStored) {
  const std::int64_t n = 100, h = 4, d = 32;
  Tensor q(DType::f32, {1, n, h, d}), k(DType::f32, {1, n, h, d}), v(DType::f32, {1, n, h, d}), o(DType::f32, {1, n, h, d});
  test::fill_uniform(q, 1);
  test::fill_uniform(k, 2);
  test::fill_uniform(v, 3);
  AttentionOptions opts;
  opts.causal = true;
  observe::RowSink fast(h, n, n, {1, 3}, {0, 50, 99});
  opts.capture = &fast;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  observe::RowSink ref(h, n, n, {}, {});
  opts.capture = &ref;
  reference::attention(q.view(), k.view(), v.view(), o.view(), opts);
  EXPECT_FALSE(fast.wants_row(0, 0, 50));
  EXPECT_FALSE(fast.wants_row(0, 1, 49));
  EXPECT_FALSE(fast.wants_row(1, 1, 50));  // only batch 0
  for (int hh : {1, 3})
    for (std::int64_t i : {0, 50, 99}) {
      ASSERT_TRUE(fast.has(hh, i));
      for (std::int64_t j = 0; j < n; ++j) {
        EXPECT_NEAR(fast.weights(hh, i)[static_cast<std::size_t>(j)], ref.weights(hh, i)[static_cast<std::size_t>(j)], 1e-5f);
        if (j > i) { EXPECT_EQ(fast.scores(hh, i)[static_cast<std::size_t>(j)], -INFINITY); }
      }
    }
  EXPECT_THROW((void)fast.weights(0, 0), Error);
  EXPECT_THROW(observe::RowSink(h, n, n, {4}, {}), Error);
  EXPECT_THROW(observe::StatsSink(1, 0, n), Error);
}

TEST(ObserveCapture, RecordingThroughModelTraceSink) {
  const observe::toy::InductionModel model(8, 24, 5);
  observe::Recording rec;
  rec.token_ids = {1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0, 7};
  rec.n = static_cast<std::int64_t>(rec.token_ids.size());
  observe::Selection sel;
  sel.layers = {1};
  sel.full_heads = {0};
  observe::RecordingSink sink(rec, 2, 2, sel);
  model.forward(rec.token_ids, &sink);
  ASSERT_EQ(rec.layers.size(), 2u);
  EXPECT_EQ(rec.layers[0].stats.size(), static_cast<std::size_t>(2 * rec.n));  // statistics: every layer
  EXPECT_TRUE(rec.layers[0].weights.empty());                                   // full matrices: layer 1 only
  EXPECT_TRUE(rec.layers[0].resid_pre.empty());
  ASSERT_TRUE(rec.has_weights(1, 0));
  EXPECT_FALSE(rec.has_weights(1, 1));
  EXPECT_EQ(rec.layers[1].resid_post.size(), static_cast<std::size_t>(rec.n * model.d_model()));
  EXPECT_EQ(rec.layers[1].q.size(), static_cast<std::size_t>(rec.n * 2 * model.head_dim()));
  // The full rows agree with the streaming stats of the same call.
  const auto w = rec.weights(1, 0);
  for (std::int64_t i = 0; i < rec.n; ++i) {
    float mx = 0;
    for (std::int64_t j = 0; j < rec.n; ++j) mx = std::max(mx, w[static_cast<std::size_t>(i * rec.n + j)]);
    EXPECT_NEAR(rec.layers[1].stats[static_cast<std::size_t>(i)].max_weight, mx, 1e-5f);
  }
  EXPECT_THROW((void)rec.weights(0, 0), Error);
  EXPECT_THROW(observe::RecordingSink(rec, 2, 2, observe::Selection{{5}, {}, true, true, 1, 256, {}, false}), Error);
}

}  // namespace
}  // namespace attend
