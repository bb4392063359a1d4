// The lab's interventions on a small random model, against hand-computed cases: patching the whole
// clean residual stream recovers the clean logits exactly; ablating every head and MLP leaves the
// bias-only output; pattern hooks recompute the head as pattern · v; mean ablation writes the mean;
// the comparison's final-stream grid is exactly 1 at the metric position and 0 elsewhere; direct
// logit attribution sums to the logit and the lens' last stage is the model's own output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "attend/error.h"
#include "attend/lab.h"
#include "nn/model_impl.h"

namespace attend {
namespace {

nn::ModelConfig tiny(bool rms = false, bool rope = false, std::int64_t kv = 2) {
  nn::ModelConfig c;
  c.vocab = 20;
  c.context = 24;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = kv;
  c.d_ff = 32;
  if (rms) c.norm = nn::NormKind::rmsnorm;
  if (rope) c.position = nn::PositionKind::rope;
  return c;
}

std::vector<float> logits_of(const nn::Model& m, const std::vector<std::int32_t>& t, ModelHooks* hooks = nullptr) {
  const Tensor l = m.forward(t, nullptr, hooks);
  return {static_cast<const float*>(l.data()), static_cast<const float*>(l.data()) + l.numel()};
}

// Biases are zero at initialisation: give the model non-zero ones so "bias-only" means something.
void randomise_biases(nn::Model& m) {
  auto& impl = m.impl();
  std::uint32_t s = 7;
  for (const auto& spec : impl.specs)
    if (spec.shape.size() == 1)
      for (std::int64_t i = 0; i < spec.size; ++i) {
        s = s * 1664525u + 1013904223u;
        impl.params[static_cast<std::size_t>(spec.offset + i)] += 0.1f * (static_cast<float>(s >> 8) / 16777216.0f - 0.5f);
      }
}

const std::vector<std::int32_t> kClean = {1, 5, 9, 2, 7, 1, 5, 9, 2, 7, 1, 5};
const std::vector<std::int32_t> kCorrupt = {3, 8, 4, 6, 0, 3, 8, 4, 6, 0, 3, 8};

TEST(LabInterventions, PatchingTheWholeCleanStreamRecoversTheCleanLogitsExactly) {
  for (const bool rope : {false, true}) {
    nn::Model m(tiny(false, rope), 3);
    randomise_biases(m);
    observe::Selection sel;
    sel.full_matrices = false;
    const lab::Run clean = lab::run(m, kClean, sel);
    const auto corrupt = logits_of(m, kCorrupt);
    ASSERT_NE(clean.logits, corrupt);
    // The stream entering layer 0, at every position: everything after it is the clean run.
    lab::PatchHooks first(clean.rec, {{HookPoint::resid_pre, 0, -1, -1}});
    EXPECT_EQ(logits_of(m, kCorrupt, &first), clean.logits) << "rope=" << rope;
    // The stream leaving the last layer.
    lab::PatchHooks last(clean.rec, {{HookPoint::resid_post, 1, -1, -1}});
    EXPECT_EQ(logits_of(m, kCorrupt, &last), clean.logits);
    // Every head's output and every MLP output of every layer (but not the embeddings): not the clean run.
    lab::PatchHooks some(clean.rec, {{HookPoint::head_out, 0, -1, -1}, {HookPoint::mlp_out, 1, -1, -1}});
    EXPECT_NE(logits_of(m, kCorrupt, &some), clean.logits);
  }
}

TEST(LabInterventions, AblatingEveryHeadAndMlpLeavesTheBiasOnlyOutput) {
  for (const bool rms : {false, true}) {
    nn::Model m(tiny(rms), 4);
    randomise_biases(m);
    const nn::ModelConfig& c = m.config();
    lab::AblationSpec spec;
    for (int l = 0; l < c.layers; ++l) {
      spec.mlps.push_back(l);
      for (int h = 0; h < c.heads; ++h) spec.heads.push_back({l, h});
    }
    lab::AblationHooks hooks(m, spec);
    const auto got = logits_of(m, kClean, &hooks);
    // By hand: x = tok_emb + pos_emb + Σ_l b_O(l) (z = 0: each attention update is its bias; MLPs
    // write nothing), then the final norm and the unembedding.
    const auto& impl = m.impl();
    const std::int64_t e = c.d_model, v = c.vocab;
    for (std::size_t i = 0; i < kClean.size(); ++i) {
      std::vector<double> x(static_cast<std::size_t>(e));
      for (std::int64_t a = 0; a < e; ++a) {
        x[static_cast<std::size_t>(a)] = impl.params[static_cast<std::size_t>(impl.wte + kClean[i] * e + a)] +
                                         impl.params[static_cast<std::size_t>(impl.wpe + static_cast<std::int64_t>(i) * e + a)];
        for (const auto& lp : impl.layer) x[static_cast<std::size_t>(a)] += impl.params[static_cast<std::size_t>(lp.bo + a)];
      }
      double mean = 0, var = 0;
      if (!rms) for (double t : x) mean += t / static_cast<double>(e);
      for (double t : x) var += (t - mean) * (t - mean) / static_cast<double>(e);
      const double rstd = 1 / std::sqrt(var + c.norm_eps);
      for (std::int64_t t = 0; t < v; ++t) {
        double logit = 0;
        for (std::int64_t a = 0; a < e; ++a) {
          double xn = (x[static_cast<std::size_t>(a)] - mean) * rstd * impl.params[static_cast<std::size_t>(impl.lnf_w + a)];
          if (!rms) xn += impl.params[static_cast<std::size_t>(impl.lnf_b + a)];
          logit += xn * impl.params[static_cast<std::size_t>(impl.wte + t * e + a)];
        }
        EXPECT_NEAR(got[i * static_cast<std::size_t>(v) + static_cast<std::size_t>(t)], logit, 1e-4) << "rms=" << rms << " i=" << i << " t=" << t;
      }
    }
    // The same positions with the same preceding tokens give the same output whatever the others are.
    std::vector<std::int32_t> other = kClean;
    other[0] = 11;
    const auto got2 = logits_of(m, other, &hooks);
    for (std::size_t a = static_cast<std::size_t>(v); a < got.size(); ++a) EXPECT_EQ(got[a], got2[a]);
  }
}

// Records what the head_out hook point sees after the other hooks (a probe after the intervention).
struct Probe : ModelHooks {
  ModelHooks* inner;
  std::vector<std::vector<float>> z;
  explicit Probe(ModelHooks* h) : inner(h) {}
  bool wants(HookPoint p, int l) const override { return p == HookPoint::head_out || inner->wants(p, l); }
  void on_activation(const HookSite& s, Span<float> x) override {
    if (inner->wants(s.point, s.layer)) inner->on_activation(s, x);
    if (s.point == HookPoint::head_out) z.emplace_back(x.begin(), x.end());
  }
  bool wants_pattern(int l, int h) const override { return inner->wants_pattern(l, h); }
  void on_patterns(int l, Span<const int> h, Span<float> p, std::int64_t n) override { inner->on_patterns(l, h, p, n); }
};

struct UniformPattern : ModelHooks {
  int layer, head;
  UniformPattern(int l, int h) : layer(l), head(h) {}
  bool wants(HookPoint, int) const override { return false; }
  bool wants_pattern(int l, int h) const override { return l == layer && h == head; }
  void on_patterns(int, Span<const int> heads, Span<float> p, std::int64_t n) override {
    ASSERT_EQ(heads.size(), 1u);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) p[static_cast<std::size_t>(i * n + j)] = j <= i ? 1.0f / static_cast<float>(i + 1) : 0.0f;
  }
};

struct IdentityPattern : ModelHooks {
  bool wants(HookPoint, int) const override { return false; }
  bool wants_pattern(int, int) const override { return true; }
  void on_patterns(int, Span<const int>, Span<float> p, std::int64_t n) override {
    for (std::int64_t i = 0; i < n; ++i) {  // rows of a causal softmax sum to 1 and vanish above the diagonal
      double s = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        s += p[static_cast<std::size_t>(i * n + j)];
        if (j > i) {
          EXPECT_EQ(p[static_cast<std::size_t>(i * n + j)], 0.0f);
        }
      }
      EXPECT_NEAR(s, 1.0, 1e-5);
    }
  }
};

TEST(LabInterventions, PatternHooksRecomputeTheHeadAsPatternTimesV) {
  nn::Model m(tiny(false, true, 1), 5);  // RoPE and GQA (2 heads share 1 KV head)
  // Sharper attention than the initialisation's near-uniform one, so patterns differ between prompts.
  for (const auto& lp : m.impl().layer) {
    for (std::int64_t i = 0; i < 16 * 16; ++i) m.impl().params[static_cast<std::size_t>(lp.wq + i)] *= 30.0f;  // [E, H·D]
    for (std::int64_t i = 0; i < 16 * 8; ++i) m.impl().params[static_cast<std::size_t>(lp.wk + i)] *= 30.0f;   // [E, G·D]
  }
  // An untouched materialised pattern gives the kernel's output (to rounding).
  IdentityPattern id;
  const auto a = logits_of(m, kClean), b = logits_of(m, kClean, &id);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4);
  // A uniform pattern for L1H1: its z is the running mean of v over the visible keys.
  UniformPattern uni(1, 1);
  Probe probe(&uni);
  observe::Selection sel;
  sel.full_matrices = false;
  const lab::Run r = lab::run(m, kClean, sel);  // v of layer 1
  (void)logits_of(m, kClean, &probe);
  ASSERT_EQ(probe.z.size(), 2u);
  const std::int64_t n = static_cast<std::int64_t>(kClean.size()), d = 8;
  const auto& v = r.rec.layers[1].v;  // [N, 1, D]
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < d; ++c) {
      double mean = 0;
      for (std::int64_t j = 0; j <= i; ++j) mean += v[static_cast<std::size_t>(j * d + c)] / static_cast<double>(i + 1);
      EXPECT_NEAR(probe.z[1][static_cast<std::size_t>((i * 2 + 1) * d + c)], mean, 1e-5);
      // Head 0 of layer 1 is untouched: the kernel's output.
      EXPECT_NEAR(probe.z[1][static_cast<std::size_t>((i * 2 + 0) * d + c)], r.rec.layers[1].head_out[static_cast<std::size_t>((i * 2) * d + c)], 1e-6);
    }
  // Patching L1H0's pattern from a run on other tokens changes the output, and from the same run does not.
  const lab::Run other = lab::run(m, kCorrupt, sel);
  lab::PatchHooks self(r.rec, {}, {{1, 0}}), foreign(other.rec, {}, {{1, 0}});
  const auto s = logits_of(m, kClean, &self), f = logits_of(m, kClean, &foreign);
  double ds = 0, df = 0;
  for (std::size_t i = 0; i < a.size(); ++i) { ds = std::max(ds, std::fabs(static_cast<double>(s[i]) - a[i])); df = std::max(df, std::fabs(static_cast<double>(f[i]) - a[i])); }
  EXPECT_LT(ds, 1e-4);
  EXPECT_GT(df, 1e-3);
}

TEST(LabInterventions, MeanAndResampleAblationWriteTheReferenceValues) {
  nn::Model m(tiny(), 6);
  lab::AblationSpec spec;
  spec.kind = lab::Ablation::mean;
  spec.heads = {{0, 1}};
  spec.mlps = {1};
  spec.reference = {kCorrupt, {4, 4, 4, 4}};
  lab::AblationHooks mean(m, spec);
  Probe probe(&mean);
  (void)logits_of(m, kClean, &probe);
  observe::Selection sel;
  sel.full_matrices = false;
  const std::vector<std::int32_t> fours = {4, 4, 4, 4};
  const lab::Run r1 = lab::run(m, kCorrupt, sel), r2 = lab::run(m, fours, sel);
  const std::int64_t d = 8, hd = 16, n1 = 12, n2 = 4;
  for (std::int64_t c = 0; c < d; ++c) {
    double want = 0;
    for (std::int64_t i = 0; i < n1; ++i) want += r1.rec.layers[0].head_out[static_cast<std::size_t>(i * hd + d + c)];
    for (std::int64_t i = 0; i < n2; ++i) want += r2.rec.layers[0].head_out[static_cast<std::size_t>(i * hd + d + c)];
    want /= static_cast<double>(n1 + n2);
    for (std::int64_t i = 0; i < 12; ++i) EXPECT_NEAR(probe.z[0][static_cast<std::size_t>(i * hd + d + c)], want, 1e-5);
  }
  spec.kind = lab::Ablation::resample;
  lab::AblationHooks resample(m, spec);
  Probe p2(&resample);
  (void)logits_of(m, kClean, &p2);
  for (std::int64_t i = 0; i < 12; ++i)
    for (std::int64_t c = 0; c < d; ++c)
      EXPECT_EQ(p2.z[0][static_cast<std::size_t>(i * hd + d + c)], r1.rec.layers[0].head_out[static_cast<std::size_t>(i * hd + d + c)]);
  spec.reference = {{1, 2}};  // shorter than the input
  lab::AblationHooks shorter(m, spec);
  EXPECT_THROW(logits_of(m, kClean, &shorter), Error);
  EXPECT_THROW(lab::parse_heads("L2H0", m.config()), Error);
  EXPECT_EQ(lab::parse_heads("L1H0,0.1", m.config()), (std::vector<lab::HeadRef>{{1, 0}, {0, 1}}));
}

TEST(LabInterventions, CompareFinalStreamGridIsOneAtTheMetricPositionOnly) {
  nn::Model m(tiny(), 8);
  lab::CompareOptions o;
  const observe::Comparison c = lab::compare(m, kClean, kCorrupt, o);
  EXPECT_NE(c.metric_clean, c.metric_corrupt);
  const observe::PatchGrid* resid = nullptr;
  for (const auto& g : c.grids)
    if (g.name.starts_with("residual") && g.direction.starts_with("clean")) resid = &g;
  ASSERT_NE(resid, nullptr);
  const std::int64_t n = static_cast<std::int64_t>(kClean.size());
  ASSERT_EQ(resid->rows, 3);
  ASSERT_EQ(resid->cols, n);
  for (std::int64_t i = 0; i < n; ++i) {
    const float final_cell = resid->recovered[static_cast<std::size_t>(2 * n + i)];
    EXPECT_NEAR(final_cell, i == n - 1 ? 1.0f : 0.0f, 1e-5) << i;
  }
  const auto same = lab::compare(m, kClean, kClean, o);
  EXPECT_TRUE(std::isnan(same.grids.front().recovered.front()));
  EXPECT_THROW(lab::compare(m, kClean, std::vector<std::int32_t>{1, 2}, o), Error);
}

TEST(LabInterventions, AttributionSumsToTheLogitAndTheLensEndsAtTheModelOutput) {
  for (const bool rms : {false, true}) {
    nn::Model m(tiny(rms, false, 1), 9);
    randomise_biases(m);
    observe::Selection sel;
    sel.full_matrices = false;
    const lab::Run r = lab::run(m, kClean, sel);
    const auto u = lab::unembedding(m);
    std::vector<int> target(kClean.size()), base(kClean.size());
    for (std::size_t i = 0; i < target.size(); ++i) { target[i] = static_cast<int>((i * 7) % 20); base[i] = static_cast<int>((i * 3 + 1) % 20); }
    const auto a = observe::direct_logit_attribution(r.rec, u, lab::output_weights(m), target, base);
    const std::int64_t n = a.n, v = m.config().vocab;
    ASSERT_EQ(a.components, 1 + 2 * (2 + 2) + 1);
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::int64_t k = 0; k < a.components; ++k) s += a.value[static_cast<std::size_t>(k * n + i)];
      const double want = static_cast<double>(r.logits[static_cast<std::size_t>(i * v + target[static_cast<std::size_t>(i)])]) -
                          r.logits[static_cast<std::size_t>(i * v + base[static_cast<std::size_t>(i)])];
      EXPECT_NEAR(a.logit[static_cast<std::size_t>(i)], want, 1e-4);
      EXPECT_NEAR(s, want, 1e-4);
    }
    const auto lens = observe::logit_lens(r.rec, u, target);
    ASSERT_EQ(lens.stages, 5);
    const auto p = observe::predictions(r.logits, n, v, lab::next_tokens(kClean), 3);
    for (std::int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(lens.top_token[static_cast<std::size_t>(4 * n + i)], p.top_tokens[static_cast<std::size_t>(i * 3)]);
      if (i + 1 < n) {
        EXPECT_NEAR(p.loss[static_cast<std::size_t>(i)], -std::log(p.p_actual[static_cast<std::size_t>(i)]), 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace attend
