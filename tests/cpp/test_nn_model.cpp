// The whole model: gradient check against finite differences for each architecture variant,
// overfitting a batch, incremental decode == full recompute, generation options, trace contract.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attend/error.h"
#include "attend/model.h"
#include "attend/train.h"
#include "nn/layers.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

ModelConfig tiny(int variant) {
  ModelConfig c;
  c.vocab = 11;
  c.context = 16;
  c.d_model = 8;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 12;
  if (variant == 1) {  // the Llama-style corner: RMSNorm, RoPE, SwiGLU, GQA, untied, no biases
    c.norm = NormKind::rmsnorm;
    c.position = PositionKind::rope;
    c.mlp = MlpKind::swiglu;
    c.kv_heads = 1;
    c.tied_embeddings = false;
    c.bias = false;
  }
  return c;
}

void randomize(Model& m, std::uint64_t seed, float scale) {  // larger weights: gradients well above f32 noise
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (float& p : m.impl().params) p += u(rng);
}

double loss_of(Model::Impl& m, const std::vector<std::int32_t>& tok, const std::vector<std::int32_t>& tgt, std::int64_t B,
               std::int64_t T) {
  Acts a;
  m.forward(tok.data(), B, T, a, nullptr, nullptr);
  std::int64_t n = 0;
  const double l = crossentropy_forward_backward(nullptr, a.logits.data(), tgt.data(), B * T, m.config.vocab, 1, &n);
  return l / static_cast<double>(n);
}

TEST(NnModel, WholeModelGradientMatchesFiniteDifferences) {
  for (int variant : {0, 1}) {
    Model model(tiny(variant), 3);
    randomize(model, 4, 0.3f);
    Model::Impl& m = model.impl();
    const std::int64_t B = 2, T = 7;
    std::mt19937_64 rng(5);
    std::vector<std::int32_t> tok(B * T), tgt(B * T);
    for (auto& t : tok) t = static_cast<std::int32_t>(rng() % 11);
    for (auto& t : tgt) t = static_cast<std::int32_t>(rng() % 11);
    tgt[3] = -1;
    Acts a;
    m.forward(tok.data(), B, T, a, nullptr, nullptr);
    std::fill(m.grads.begin(), m.grads.end(), 0.0f);
    std::int64_t counted = 0;
    m.backward(tok.data(), tgt.data(), a, 1.0f / 13.0f, &counted);
    ASSERT_EQ(counted, 13);
    // Every parameter tensor, a few entries each, double-sided differences.
    double num = 0, den = 0;
    for (const ParamSpec& s : m.specs) {
      for (std::int64_t k = 0; k < std::min<std::int64_t>(s.size, 6); ++k) {
        const std::int64_t i = s.offset + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(s.size));
        const float keep = m.params[static_cast<std::size_t>(i)], h = 1e-2f;
        m.params[static_cast<std::size_t>(i)] = keep + h;
        const double lp = loss_of(m, tok, tgt, B, T);
        m.params[static_cast<std::size_t>(i)] = keep - h;
        const double lm = loss_of(m, tok, tgt, B, T);
        m.params[static_cast<std::size_t>(i)] = keep;
        const double fd = (lp - lm) / (2 * h), g = m.grads[static_cast<std::size_t>(i)];
        EXPECT_NEAR(g, fd, 2e-3 + 0.05 * std::fabs(fd)) << "variant " << variant << " " << s.name;
        num += (g - fd) * (g - fd);
        den += fd * fd;
      }
    }
    EXPECT_LE(std::sqrt(num / den), 1e-2) << "variant " << variant;
  }
}

TEST(NnModel, TinyModelOverfitsOneBatch) {
  for (int variant : {0, 1}) {
    ModelConfig c = tiny(variant);
    c.d_model = 32;
    c.d_ff = 64;
    Model model(c, 1);
    TaskData data(Task::copy, c.vocab, 9);
    const Batch b = data.batch(4, 7, 0);
    double first = 0, last = 0;
    Model::Impl& m = model.impl();
    std::vector<float> mm(m.params.size()), vv(m.params.size());
    for (int s = 0; s < 150; ++s) {  // drive the layers directly on the one batch
      Acts a;
      m.forward(b.tokens.data(), b.B, b.T, a, nullptr, nullptr);
      std::fill(m.grads.begin(), m.grads.end(), 0.0f);
      std::int64_t n = 0;
      std::int64_t scored = 0;
      for (auto t : b.targets) scored += t >= 0;
      const double l = m.backward(b.tokens.data(), b.targets.data(), a, 1.0f / static_cast<float>(scored), &n) / static_cast<double>(n);
      if (s == 0) first = l;
      last = l;
      for (std::size_t i = 0; i < m.params.size(); ++i) {  // plain Adam, enough to memorise
        mm[i] = 0.9f * mm[i] + 0.1f * m.grads[i];
        vv[i] = 0.999f * vv[i] + 0.001f * m.grads[i] * m.grads[i];
        m.params[i] -= 1e-2f * (mm[i] / (1 - std::pow(0.9f, s + 1.0f))) / (std::sqrt(vv[i] / (1 - std::pow(0.999f, s + 1.0f))) + 1e-8f);
      }
    }
    EXPECT_GT(first, 2.0) << "variant " << variant;
    EXPECT_LT(last, 0.05) << "variant " << variant;
  }
}

TEST(NnModel, IncrementalDecodeEqualsFullRecompute) {
  for (int variant : {0, 1}) {
    Model model(tiny(variant), 11);
    randomize(model, 12, 0.2f);
    std::vector<std::int32_t> seq = {1, 5, 2, 9, 9, 0, 3, 7, 4, 10, 6, 2, 8};
    const Tensor full = model.forward(seq);
    Decoder dec(model);
    // Prefill 4 tokens, then one at a time, then a block of 3.
    std::vector<Tensor> parts;
    parts.push_back(dec.step(std::span(seq).subspan(0, 4)));
    for (std::size_t i = 4; i < 10; ++i) parts.push_back(dec.step(std::span(seq).subspan(i, 1)));
    parts.push_back(dec.step(std::span(seq).subspan(10, 3)));
    EXPECT_EQ(dec.length(), 13);
    std::int64_t row = 0;
    double worst = 0;
    for (const Tensor& p : parts)
      for (std::int64_t r = 0; r < p.dim(0); ++r, ++row)
        for (std::int64_t v = 0; v < 11; ++v)
          worst = std::max(worst, static_cast<double>(std::fabs(p.data_as<float>()[r * 11 + v] - full.data_as<float>()[row * 11 + v])));
    EXPECT_EQ(row, 13);
    EXPECT_LT(worst, 1e-4) << "variant " << variant;
    EXPECT_THROW(dec.step(std::vector<std::int32_t>(4, 1)), Error);  // 13 + 4 > context 16
    // step_last: only the last token's logits, equal to step()'s last row (prefill and single steps).
    Decoder last(model);
    const Tensor a = last.step_last(std::span(seq).subspan(0, 4));
    const Tensor b = last.step_last(std::span(seq).subspan(4, 1));
    ASSERT_EQ(a.dim(0), 1);
    ASSERT_EQ(b.dim(0), 1);
    for (std::int64_t v = 0; v < 11; ++v) {
      EXPECT_EQ(a.data_as<float>()[v], parts[0].data_as<float>()[3 * 11 + v]) << v;
      EXPECT_EQ(b.data_as<float>()[v], parts[1].data_as<float>()[v]) << v;
    }
    // reset: the decoder forgets its tokens and serves a new sequence exactly as a fresh one does
    // (its caches' and activations' memory reused: stale keys past the new length must not count).
    last.reset();
    EXPECT_EQ(last.length(), 0);
    const std::vector<std::int32_t> other = {7, 3, 3, 1, 0, 10, 2};
    Decoder fresh(model);
    const Tensor want = fresh.step(other), got = last.step(other);
    ASSERT_EQ(got.dim(0), 7);
    for (std::int64_t i = 0; i < 7 * 11; ++i) EXPECT_EQ(got.data_as<float>()[i], want.data_as<float>()[i]) << i;
    const std::int32_t next = 4;
    const Tensor want1 = fresh.step_last(std::span(&next, 1)), got1 = last.step_last(std::span(&next, 1));
    for (std::int64_t v = 0; v < 11; ++v) EXPECT_EQ(got1.data_as<float>()[v], want1.data_as<float>()[v]) << v;
    EXPECT_EQ(last.length(), 8);
    // reserve: room up front changes nothing computed; beyond the context it is refused.
    Decoder roomy(model);
    roomy.reserve(16);
    const Tensor r = roomy.step(other);
    for (std::int64_t i = 0; i < 7 * 11; ++i) EXPECT_EQ(r.data_as<float>()[i], want.data_as<float>()[i]) << i;
    EXPECT_THROW(roomy.reserve(17), Error);
  }
}

// Past attend::decode's chunk (512 cached tokens) the cached path splits the cache over tasks and
// merges them; a long prefill plus single steps must still match the full recompute.
TEST(NnModel, IncrementalDecodeMatchesPastTheDecodeChunk) {
  ModelConfig c = tiny(1);
  c.context = 600;
  Model model(c, 31);
  randomize(model, 32, 0.2f);
  std::vector<std::int32_t> seq(600);
  for (std::size_t i = 0; i < seq.size(); ++i) seq[i] = static_cast<std::int32_t>((i * 7 + i / 5) % 11);
  const Tensor full = model.forward(seq);
  Decoder dec(model);
  (void)dec.step(std::span(seq).subspan(0, 509));
  double worst = 0;
  for (std::size_t i = 509; i < 520; ++i) {
    const Tensor p = dec.step(std::span(seq).subspan(i, 1));
    for (std::int64_t v = 0; v < 11; ++v)
      worst = std::max(worst, static_cast<double>(std::fabs(p.data_as<float>()[v] - full.data_as<float>()[static_cast<std::int64_t>(i) * 11 + v])));
  }
  const Tensor tail = dec.step(std::span(seq).subspan(520, 80));  // a block after the split point
  for (std::int64_t r = 0; r < 80; ++r)
    for (std::int64_t v = 0; v < 11; ++v)
      worst = std::max(worst, static_cast<double>(std::fabs(tail.data_as<float>()[r * 11 + v] - full.data_as<float>()[(520 + r) * 11 + v])));
  EXPECT_EQ(dec.length(), 600);
  EXPECT_LT(worst, 1e-4);
}

TEST(NnModel, GenerationOptions) {
  Model model(tiny(0), 21);
  randomize(model, 22, 0.5f);
  const std::vector<std::int32_t> prompt = {1, 2, 3};
  Model::GenerateOptions g;
  g.temperature = 0;
  g.max_new_tokens = 8;
  const auto cached = model.generate(prompt, g);
  g.use_cache = false;
  EXPECT_EQ(model.generate(prompt, g), cached);  // greedy: cache and recompute agree
  EXPECT_EQ(cached.size(), 8u);
  g.use_cache = true;
  g.stop_token = cached[2];
  const auto stopped = model.generate(prompt, g);
  ASSERT_FALSE(stopped.empty());
  EXPECT_EQ(stopped.back(), cached[2]);
  EXPECT_LE(stopped.size(), 3u);
  g.stop_token = -1;
  g.temperature = 1.0f;
  g.top_k = 3;
  g.top_p = 0.9f;
  g.seed = 5;
  std::vector<std::int32_t> streamed;
  const auto a = model.generate(prompt, g, [&](std::int32_t t) { streamed.push_back(t); return true; });
  EXPECT_EQ(a, streamed);
  EXPECT_EQ(model.generate(prompt, g), a);  // same seed, same sample
  g.max_new_tokens = 100;  // stops at the context
  EXPECT_EQ(model.generate(prompt, g).size(), 13u);
  g.top_k = 1;  // top-1 sampling is greedy
  g.max_new_tokens = 8;
  EXPECT_EQ(model.generate(prompt, g), cached);
  g.top_p = 0;
  EXPECT_THROW(model.generate(prompt, g), Error);
}

struct CountingTrace : ModelTraceSink {
  int layers = 0;
  std::vector<float> first_resid;
  void on_layer(const LayerTrace& t) override {
    EXPECT_EQ(t.layer, layers);
    EXPECT_EQ(t.tokens, 5);
    EXPECT_EQ(t.head_dim * t.heads, t.d_model);
    if (layers == 0) first_resid.assign(t.resid_post, t.resid_post + t.tokens * t.d_model);
    ++layers;
  }
};

TEST(NnModel, TraceSeesEveryLayerAndErrorsNameTheProblem) {
  Model model(tiny(1), 31);
  CountingTrace trace;
  const std::vector<std::int32_t> tok = {0, 1, 2, 3, 4};
  model.forward(tok, &trace);
  EXPECT_EQ(trace.layers, 2);
  EXPECT_EQ(trace.first_resid.size(), 40u);
  const AttentionWeights w = model.attention_weights(1);
  EXPECT_EQ(w.w_k.size(), static_cast<std::size_t>(8 * 1 * 4));
  EXPECT_THROW(model.attention_weights(2), Error);
  EXPECT_THROW(model.forward(std::vector<std::int32_t>{0, 11}), Error);
  EXPECT_THROW(model.forward(std::vector<std::int32_t>(17, 0)), Error);
  ModelConfig bad = tiny(0);
  bad.kv_heads = 3;
  try {
    Model m(bad, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kv_heads 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(model.decode_token(10), "|");
  EXPECT_EQ(model.encode("abc|"), (std::vector<std::int32_t>{0, 1, 2, 10}));
}

}  // namespace
}  // namespace attend::nn
