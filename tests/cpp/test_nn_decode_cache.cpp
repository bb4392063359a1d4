// The Decoder's half-precision KV caches (Decoder(model, f16 / bf16)) against the exact f32 cache:
// both architecture corners (GPT-2: LayerNorm, learned positions, GELU; Llama: RMSNorm, RoPE,
// SwiGLU, GQA), a prefill, single steps and a block step, past the cache's first growth (64
// tokens: the grown cache copies the half-precision rows as they are). The f32 cache equals the
// full recompute; a half cache differs from it by the rounding of the cached keys and values only.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attend/model.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

ModelConfig corner(bool llama) {
  ModelConfig c;
  c.vocab = 13;
  c.context = 80;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 24;
  if (llama) {
    c.norm = NormKind::rmsnorm;
    c.position = PositionKind::rope;
    c.mlp = MlpKind::swiglu;
    c.kv_heads = 1;
    c.tied_embeddings = false;
    c.bias = false;
  }
  return c;
}

// Logits [80, V] of the sequence decoded as prefill 5, single steps to 70, then a block of 10.
std::vector<float> decoded(const Model& m, const std::vector<std::int32_t>& seq, DType kv) {
  Decoder dec(m, kv);
  std::vector<float> out;
  auto add = [&](const Tensor& t) { out.insert(out.end(), t.data_as<float>(), t.data_as<float>() + t.numel()); };
  add(dec.step(std::span(seq).subspan(0, 5)));
  for (std::size_t i = 5; i < 70; ++i) add(dec.step(std::span(seq).subspan(i, 1)));
  add(dec.step(std::span(seq).subspan(70, 10)));
  EXPECT_EQ(dec.length(), 80);
  return out;
}

double max_abs_diff(const std::vector<float>& a, const float* b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  return worst;
}

TEST(NnDecodeCache, HalfPrecisionCachesDifferFromTheExactCacheByTheirRoundingOnly) {
  for (bool llama : {false, true}) {
    Model model(corner(llama), llama ? 5 : 3);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> noise(-0.2f, 0.2f);
    for (float& p : model.impl().params) p += noise(rng);
    std::vector<std::int32_t> seq(80);
    for (std::size_t i = 0; i < seq.size(); ++i) seq[i] = static_cast<std::int32_t>((i * 5 + i / 3) % 13);
    const Tensor full = model.forward(seq);
    double scale = 0;  // the logits' magnitude
    for (std::int64_t i = 0; i < full.numel(); ++i) scale = std::max(scale, static_cast<double>(std::fabs(full.data_as<float>()[i])));
    const std::vector<float> exact = decoded(model, seq, DType::f32);
    EXPECT_LT(max_abs_diff(exact, full.data_as<float>()), 1e-4) << "llama " << llama;
    // A cached key or value is off by at most u = 2^-11 (f16) or 2^-8 (bf16) of itself; through
    // the softmax and two layers that moved a logit by at most 0.65 u of the logits' scale
    // (measured, printed below); the bound is 8 u.
    for (auto [kv, u] : {std::pair{DType::f16, 0x1p-11}, std::pair{DType::bf16, 0x1p-8}}) {
      const std::vector<float> half = decoded(model, seq, kv);
      const double e = max_abs_diff(half, exact.data());
      std::printf("llama %d %s cache: max |logit difference| = %.3g u of the logits' scale\n", llama,
                  std::string(dtype_name(kv)).c_str(), e / (u * scale));
      EXPECT_LE(e, 8 * u * scale) << "llama " << llama << " " << dtype_name(kv);
      EXPECT_GT(e, 0.0) << "llama " << llama << " " << dtype_name(kv) << ": the cache must hold rounded values";
      // The prefill attends over its fresh f32 keys and values: its rows equal the exact cache's.
      for (std::size_t i = 0; i < 5 * 13; ++i) EXPECT_EQ(half[i], exact[i]) << i;
    }
  }
}

}  // namespace
}  // namespace attend::nn
