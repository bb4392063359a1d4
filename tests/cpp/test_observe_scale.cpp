// The observatory at real sizes: thumbnails pooled inside the kernel against pooling of the
// reference's full matrix; factored EMF operators and composition against the dense computation;
// PCA by subspace iteration against the dense eigen-decomposition and against known directions;
// rollout of any query through the backward kernel against the dense product.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "attend/observe_metrics.h"
#include "test_util.h"

namespace attend {
namespace {

struct ThumbCase {
  std::int64_t nq, nk, hq, hkv, d, side;
  bool causal;
  std::int64_t window;
  bool alibi;
};

// Pools a full [nq, nk] matrix as ThumbnailSink defines: cell (a, b) covers rows ⌊i·R/nq⌋ = a, keys ⌊j·C/nk⌋ = b.
void pool(const std::vector<double>& w, std::int64_t nq, std::int64_t nk, std::int64_t side, std::vector<double>& mean, std::vector<double>& mx) {
  const std::int64_t r = std::min(nq, side), c = std::min(nk, side);
  mean.assign(static_cast<std::size_t>(r * c), 0.0);
  mx.assign(mean.size(), 0.0);
  std::vector<double> count(mean.size(), 0.0);
  for (std::int64_t i = 0; i < nq; ++i)
    for (std::int64_t j = 0; j < nk; ++j) {
      const auto at = static_cast<std::size_t>((i * r / nq) * c + j * c / nk);
      mean[at] += w[static_cast<std::size_t>(i * nk + j)];
      mx[at] = std::max(mx[at], w[static_cast<std::size_t>(i * nk + j)]);
      count[at] += 1;
    }
  for (std::size_t a = 0; a < mean.size(); ++a) mean[a] /= count[a];
}

class CaptureThumbnail : public ::testing::TestWithParam<ThumbCase> {};

TEST_P(CaptureThumbnail, KernelThumbnailEqualsPoolingOfReferenceMatrix) {
  const ThumbCase c = GetParam();
  Tensor q(DType::f32, {1, c.nq, c.hq, c.d}), k(DType::f32, {1, c.nk, c.hkv, c.d}), v(DType::f32, {1, c.nk, c.hkv, c.d});
  Tensor o(DType::f32, {1, c.nq, c.hq, c.d});
  test::fill_uniform(q, 31 + static_cast<std::uint64_t>(c.nq), -2, 2);
  test::fill_uniform(k, 32, -2, 2);
  test::fill_uniform(v, 33);
  std::vector<float> slopes(static_cast<std::size_t>(c.hq));
  for (std::size_t h = 0; h < slopes.size(); ++h) slopes[h] = 0.05f * static_cast<float>(h + 1);
  AttentionOptions opts;
  opts.causal = c.causal;
  opts.window_left = c.window;
  if (c.alibi) opts.alibi_slopes = slopes;
  observe::ThumbnailSink fast(c.hq, c.nq, c.nk, c.side), slow(c.hq, c.nq, c.nk, c.side);
  opts.capture = &fast;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  opts.capture = &slow;
  reference::attention(q.view(), k.view(), v.view(), o.view(), opts);
  observe::RowSink full(c.hq, c.nq, c.nk, {}, {});
  opts.capture = &full;
  reference::attention(q.view(), k.view(), v.view(), o.view(), opts);
  const std::int64_t r = std::min(c.nq, c.side), cc = std::min(c.nk, c.side);
  ASSERT_EQ(fast.out_rows(), r);
  ASSERT_EQ(fast.out_cols(), cc);
  const std::vector<float> fm = fast.mean(), sm = slow.mean();
  double worst_fast = 0, worst_slow = 0;
  for (std::int64_t h = 0; h < c.hq; ++h) {
    std::vector<double> w(static_cast<std::size_t>(c.nq * c.nk)), mean, mx;
    for (std::int64_t i = 0; i < c.nq; ++i) {
      const auto row = full.weights(h, i);
      std::copy(row.begin(), row.end(), w.begin() + i * c.nk);
    }
    pool(w, c.nq, c.nk, c.side, mean, mx);
    for (std::size_t a = 0; a < mean.size(); ++a) {
      const std::size_t at = static_cast<std::size_t>(h) * mean.size() + a;
      worst_fast = std::max({worst_fast, std::fabs(fm[at] - mean[a]), std::fabs(fast.max()[at] - mx[a])});
      worst_slow = std::max({worst_slow, std::fabs(sm[at] - mean[a]), std::fabs(slow.max()[at] - mx[a])});
    }
  }
  EXPECT_LT(worst_fast, 2e-6) << "fast kernel, nq=" << c.nq << " nk=" << c.nk << " side=" << c.side;
  EXPECT_LT(worst_slow, 1e-6) << "reference";
  // Row sums of the mean thumbnail times the cell counts give back each row bin's mass: rows sum to 1.
  if (c.nq <= c.side && c.nk <= c.side) {
    EXPECT_TRUE(fast.exact());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CaptureThumbnail, ::testing::Values(
    ThumbCase{37, 37, 2, 1, 16, 256, true, -1, false},     // exact: one cell per entry
    ThumbCase{300, 300, 2, 2, 32, 64, true, -1, false},    // pooled, bins of uneven size, several key tiles
    ThumbCase{257, 513, 3, 1, 16, 50, false, -1, true},    // Nq ≠ Nk (bottom-right), GQA, ALiBi, non-causal
    ThumbCase{400, 400, 1, 1, 64, 256, true, 40, false},   // sliding window: most cells masked
    ThumbCase{1000, 1000, 1, 1, 8, 7, true, -1, false}));  // many keys per bin, bins spanning tiles

TEST(CaptureThumbnail, RecordingKeepsThumbnailsOfEveryHeadAndExactRows) {
  // Through RecordingSink: the thumbnail of a short input is the matrix itself (exact_weights), and
  // selected rows equal the full matrix's rows.
  Tensor q(DType::f32, {1, 20, 2, 8}), k(DType::f32, {1, 20, 2, 8}), v(DType::f32, {1, 20, 2, 8}), o(DType::f32, {1, 20, 2, 8});
  test::fill_uniform(q, 1, -2, 2);
  test::fill_uniform(k, 2, -2, 2);
  test::fill_uniform(v, 3);
  observe::Recording rec;
  rec.n = 20;
  observe::Selection sel;
  sel.rows = {19, 3};
  sel.full_heads = {1};
  observe::RecordingSink sink(rec, 1, 2, sel);
  AttentionOptions opts;
  opts.causal = true;
  opts.capture = sink.attention_sink(0);
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  LayerTrace t;
  t.tokens = 20;
  t.heads = 2;
  t.kv_heads = 2;
  t.head_dim = 8;
  t.d_model = 16;
  sink.on_layer(t);
  const auto& lr = rec.layer(0);
  EXPECT_EQ(lr.thumb_rows, 20);
  ASSERT_EQ(lr.rows, (std::vector<std::int64_t>{3, 19}));
  const auto w1 = rec.weights(0, 1), e1 = rec.exact_weights(0, 1), e0 = rec.exact_weights(0, 0);
  ASSERT_EQ(e0.size(), 400u);
  for (std::size_t i = 0; i < 400; ++i) EXPECT_EQ(w1[i], e1[i]);  // recorded in full: that one
  for (std::int64_t r = 0; r < 2; ++r)
    for (std::int64_t j = 0; j < 20; ++j) {
      const std::int64_t row = lr.rows[static_cast<std::size_t>(r)];
      EXPECT_NEAR(lr.row_weights[static_cast<std::size_t>((0 * 2 + r) * 20 + j)], e0[static_cast<std::size_t>(row * 20 + j)], 2e-6);
      EXPECT_NEAR(lr.row_weights[static_cast<std::size_t>((1 * 2 + r) * 20 + j)], w1[static_cast<std::size_t>(row * 20 + j)], 2e-6);
    }
}

// ---- factored EMF ----------------------------------------------------------------------------------
observe::LayerWeights random_layer(std::int64_t e, std::int64_t h, std::int64_t g, std::int64_t d, std::uint64_t seed, bool low_rank = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.3f);
  observe::LayerWeights w;
  w.d_model = e;
  w.heads = h;
  w.kv_heads = g;
  w.head_dim = d;
  for (auto* m : {&w.w_q, &w.w_k, &w.w_v}) m->resize(static_cast<std::size_t>(e * (m == &w.w_q ? h : g) * d));
  w.w_o.resize(static_cast<std::size_t>(h * d * e));
  for (auto* m : {&w.w_q, &w.w_k, &w.w_v, &w.w_o})
    for (float& x : *m) x = n(rng);
  if (low_rank)  // W_V of rank 1: a singular factor (QR must still work)
    for (std::int64_t r = 0; r < e; ++r)
      for (std::int64_t c = 0; c < g * d; ++c) w.w_v[static_cast<std::size_t>(r * g * d + c)] = w.w_v[static_cast<std::size_t>(c)] * static_cast<float>(r % 3);
  return w;
}

observe::HeadWeights head_of(const observe::LayerWeights& w, std::int64_t h) {
  const std::int64_t e = w.d_model, d = w.head_dim, kv = h / (w.heads / w.kv_heads);
  observe::HeadWeights hw;
  hw.d_model = e;
  hw.head_dim = d;
  hw.v_dim = d;
  for (std::int64_t r = 0; r < e; ++r)
    for (std::int64_t c = 0; c < d; ++c) {
      hw.wq.push_back(w.w_q[static_cast<std::size_t>(r * w.heads * d + h * d + c)]);
      hw.wk.push_back(w.w_k[static_cast<std::size_t>(r * w.kv_heads * d + kv * d + c)]);
      hw.wv.push_back(w.w_v[static_cast<std::size_t>(r * w.kv_heads * d + kv * d + c)]);
    }
  for (std::int64_t c = 0; c < d; ++c)
    for (std::int64_t r = 0; r < e; ++r) hw.wo.push_back(w.w_o[static_cast<std::size_t>((h * d + c) * e + r)]);
  return hw;
}

TEST(EmfFactored, EqualsTheDenseComputationOnSmallWidths) {
  for (const bool gqa : {false, true}) {
    const std::int64_t e = 24, h = 4, g = gqa ? 2 : 4, d = 6, nl = 3;
    std::vector<observe::LayerWeights> layers;
    for (std::int64_t l = 0; l < nl; ++l) layers.push_back(random_layer(e, h, g, d, 100 + static_cast<std::uint64_t>(l), l == 1));
    const observe::EmfAnalysis f = observe::emf_factored(layers);
    std::vector<observe::HeadOperators> dense;
    for (const auto& lw : layers)
      for (std::int64_t hh = 0; hh < h; ++hh) dense.push_back(observe::head_operators(head_of(lw, hh)));
    ASSERT_EQ(f.ops.size(), dense.size());
    for (std::size_t i = 0; i < dense.size(); ++i) {
      const auto &a = f.ops[i], &b = dense[i];
      const double sm = b.m_singular[0], sf = b.f_singular[0];
      ASSERT_EQ(a.m_singular.size(), static_cast<std::size_t>(d));
      for (std::int64_t s = 0; s < e; ++s) {  // the factored spectrum holds the D non-zero values; the rest are 0
        EXPECT_NEAR(s < d ? a.m_singular[static_cast<std::size_t>(s)] : 0.0, b.m_singular[static_cast<std::size_t>(s)], 1e-5 * sm) << i << " " << s;
        EXPECT_NEAR(s < d ? a.f_singular[static_cast<std::size_t>(s)] : 0.0, b.f_singular[static_cast<std::size_t>(s)], 1e-5 * sf) << i << " " << s;
      }
      EXPECT_NEAR(a.m_symmetric_norm, b.m_symmetric_norm, 1e-5 * sm);
      EXPECT_NEAR(a.m_antisymmetric_norm, b.m_antisymmetric_norm, 1e-5 * sm);
      EXPECT_TRUE(a.m.empty() && a.f.empty());  // never E × E
      const auto single = observe::head_operators_factored(head_of(layers[i / static_cast<std::size_t>(h)], static_cast<std::int64_t>(i) % h));
      EXPECT_NEAR(single.m_symmetric_norm, a.m_symmetric_norm, 1e-12);
    }
    const auto c = observe::composition_matrix(dense, h);
    ASSERT_EQ(f.composition.size(), c.size());
    double worst = 0, biggest = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      worst = std::max({worst, std::fabs(f.composition[i].q - c[i].q), std::fabs(f.composition[i].k - c[i].k), std::fabs(f.composition[i].v - c[i].v)});
      biggest = std::max({biggest, c[i].q, c[i].k, c[i].v});
    }
    EXPECT_LT(worst, 1e-5) << "gqa=" << gqa;
    EXPECT_GT(biggest, 0.1);  // the comparison is not between zeros
  }
}

TEST(EmfFactored, FoldingANormEqualsFoldingByHand) {
  // fold_norm_into_reads with centring = P·diag(g)·W; its dense operators equal the hand-folded ones.
  const std::int64_t e = 12, d = 4;
  observe::LayerWeights w = random_layer(e, 2, 2, d, 7);
  std::vector<float> gain(static_cast<std::size_t>(e));
  for (std::int64_t i = 0; i < e; ++i) gain[static_cast<std::size_t>(i)] = 0.5f + 0.1f * static_cast<float>(i);
  observe::LayerWeights folded = w;
  observe::fold_norm_into_reads(folded, gain, true);
  for (std::int64_t c = 0; c < 2 * d; ++c) {
    double mean = 0;
    for (std::int64_t r = 0; r < e; ++r) mean += gain[static_cast<std::size_t>(r)] * w.w_q[static_cast<std::size_t>(r * 2 * d + c)] / static_cast<double>(e);
    for (std::int64_t r = 0; r < e; ++r)
      EXPECT_NEAR(folded.w_q[static_cast<std::size_t>(r * 2 * d + c)], gain[static_cast<std::size_t>(r)] * w.w_q[static_cast<std::size_t>(r * 2 * d + c)] - mean, 1e-6);
  }
  // A folded read ignores the all-ones direction: 1ᵀ·W_Q = 0.
  for (std::int64_t c = 0; c < 2 * d; ++c) {
    double s = 0;
    for (std::int64_t r = 0; r < e; ++r) s += folded.w_q[static_cast<std::size_t>(r * 2 * d + c)];
    EXPECT_NEAR(s, 0.0, 1e-5);
  }
  EXPECT_THROW(observe::fold_norm_into_reads(folded, std::vector<float>(3, 1.0f), true), Error);
}

// ---- PCA ---------------------------------------------------------------------------------------------
TEST(PcaAnyWidth, SubspaceIterationEqualsDenseEigen) {
  // Width 200 (> 64: the iterative path), data with distinct top variances.
  const std::int64_t stages = 3, n = 40, e = 200;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> g;
  std::vector<float> x(static_cast<std::size_t>(stages * n * e));
  for (std::int64_t p = 0; p < stages * n; ++p) {
    const float a = 3.0f * g(rng), b = 1.5f * g(rng);
    for (std::int64_t c = 0; c < e; ++c)
      x[static_cast<std::size_t>(p * e + c)] = a * std::sin(0.1f * static_cast<float>(c)) + b * std::cos(0.37f * static_cast<float>(c)) + 0.05f * g(rng);
  }
  const auto fast = observe::pca_2d(x, stages, n, e), dense = observe::pca_2d_dense(x, stages, n, e);
  ASSERT_EQ(fast.size(), dense.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) {
    worst = std::max(worst, std::fabs(fast[i] - dense[i]));
    scale = std::max(scale, std::fabs(dense[i]));
  }
  EXPECT_LT(worst, 1e-6 * scale);
}

TEST(PcaAnyWidth, RecoversKnownDirectionsAtWidth4096) {
  // Points = a·u + b·w + noise with orthonormal u, w and var(a) ≫ var(b) ≫ noise: the projections are (±a, ±b).
  const std::int64_t n = 300, e = 4096;
  std::mt19937_64 rng(9);
  std::normal_distribution<double> g;
  std::vector<double> u(static_cast<std::size_t>(e)), w(static_cast<std::size_t>(e));
  for (std::int64_t c = 0; c < e; ++c) {
    u[static_cast<std::size_t>(c)] = (c % 2 ? 1.0 : -1.0) / std::sqrt(static_cast<double>(e));
    w[static_cast<std::size_t>(c)] = (c < e / 2 ? 1.0 : -1.0) / std::sqrt(static_cast<double>(e));
  }
  std::vector<double> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
  for (std::int64_t p = 0; p < n; ++p) {
    a[static_cast<std::size_t>(p)] = 10 * g(rng);
    b[static_cast<std::size_t>(p)] = 3 * g(rng);
  }
  // Centre both and make b uncorrelated with a in this sample, so the sample's axes are exactly u and w.
  for (auto* v : {&a, &b}) {
    double m = 0;
    for (double t : *v) m += t / static_cast<double>(n);
    for (double& t : *v) t -= m;
  }
  double ab = 0, aa = 0;
  for (std::int64_t p = 0; p < n; ++p) { ab += a[static_cast<std::size_t>(p)] * b[static_cast<std::size_t>(p)]; aa += a[static_cast<std::size_t>(p)] * a[static_cast<std::size_t>(p)]; }
  for (std::int64_t p = 0; p < n; ++p) b[static_cast<std::size_t>(p)] -= ab / aa * a[static_cast<std::size_t>(p)];
  std::vector<float> x(static_cast<std::size_t>(n * e));
  for (std::int64_t p = 0; p < n; ++p) {
    for (std::int64_t c = 0; c < e; ++c)
      x[static_cast<std::size_t>(p * e + c)] = static_cast<float>(a[static_cast<std::size_t>(p)] * u[static_cast<std::size_t>(c)] +
                                                                  b[static_cast<std::size_t>(p)] * w[static_cast<std::size_t>(c)] + 1e-3 * g(rng));
  }
  const auto pts = observe::pca_2d(x, 1, n, e);
  double ma = 0, mb = 0;
  for (std::int64_t p = 0; p < n; ++p) { ma += a[static_cast<std::size_t>(p)] / n; mb += b[static_cast<std::size_t>(p)] / n; }
  double ea = 0, eb = 0, sa = 0, sb = 0;
  for (std::int64_t p = 0; p < n; ++p) {  // the same up to one sign per axis
    sa += pts[static_cast<std::size_t>(2 * p)] * (a[static_cast<std::size_t>(p)] - ma);
    sb += pts[static_cast<std::size_t>(2 * p + 1)] * (b[static_cast<std::size_t>(p)] - mb);
  }
  for (std::int64_t p = 0; p < n; ++p) {
    eb = std::max(eb, std::fabs((sb > 0 ? 1 : -1) * pts[static_cast<std::size_t>(2 * p + 1)] - (b[static_cast<std::size_t>(p)] - mb)));
    ea = std::max(ea, std::fabs((sa > 0 ? 1 : -1) * pts[static_cast<std::size_t>(2 * p)] - (a[static_cast<std::size_t>(p)] - ma)));
  }
  EXPECT_LT(ea, 0.01);  // the noise (1e-3 per coordinate) moves the axes only slightly
  EXPECT_LT(eb, 0.01);
  EXPECT_THROW(observe::pca_2d_dense(x, 1, n, e), Error);  // the dense path refuses this width
}

// ---- rollout of any query ------------------------------------------------------------------------------
TEST(RolloutAnyQuery, BackwardKernelRowsEqualTheDenseProduct) {
  // A recording of 2 layers × 3 heads (GQA 3:1... kv 1) with q, k and lse from the kernel.
  const std::int64_t n = 90, h = 3, g = 1, d = 8, nl = 2;
  observe::Recording rec;
  rec.n = n;
  rec.heads = h;
  rec.kv_heads = g;
  rec.head_dim = d;
  rec.d_model = h * d;
  std::vector<std::vector<double>> means;
  for (std::int64_t l = 0; l < nl; ++l) {
    Tensor q(DType::f32, {1, n, h, d}), k(DType::f32, {1, n, g, d}), v(DType::f32, {1, n, g, d}), o(DType::f32, {1, n, h, d});
    test::fill_uniform(q, 40 + static_cast<std::uint64_t>(l), -2, 2);
    test::fill_uniform(k, 50 + static_cast<std::uint64_t>(l), -2, 2);
    test::fill_uniform(v, 60);
    observe::StatsSink stats(1, h, n);
    observe::RowSink rows(h, n, n, {}, {});
    observe::TeeSink tee(&stats, &rows);
    AttentionOptions opts;
    opts.causal = true;
    opts.capture = &tee;
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    observe::LayerRecord lr;
    lr.layer = static_cast<int>(l);
    auto all = stats.head_rows(0, 0);
    lr.stats.assign(all.begin(), all.begin() + h * n);
    lr.q.assign(q.data_as<float>(), q.data_as<float>() + n * h * d);
    lr.k.assign(k.data_as<float>(), k.data_as<float>() + n * g * d);
    std::vector<double> mean(static_cast<std::size_t>(n * n), 0.0);
    for (std::int64_t hh = 0; hh < h; ++hh)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto r = rows.weights(hh, i);
        for (std::int64_t j = 0; j < n; ++j) mean[static_cast<std::size_t>(i * n + j)] += r[static_cast<std::size_t>(j)] / static_cast<double>(h);
      }
    means.push_back(mean);
    rec.layers.push_back(std::move(lr));
  }
  const std::vector<std::int64_t> rows = {0, 17, 89, 45};
  const auto exact = observe::rollout_rows_exact(rec, rows), dense = observe::rollout_rows(means, n, rows);
  ASSERT_EQ(exact.size(), dense.size());
  for (std::size_t i = 0; i < exact.size(); ++i) EXPECT_NEAR(exact[i], dense[i], 2e-6) << i;
  double s = 0;
  for (std::int64_t j = 0; j < n; ++j) s += exact[static_cast<std::size_t>(2 * n + j)];
  EXPECT_NEAR(s, 1.0, 1e-5);  // a rollout row is a distribution
  EXPECT_THROW(observe::rollout_rows_exact(rec, std::vector<std::int64_t>{90}), Error);
}

}  // namespace
}  // namespace attend
