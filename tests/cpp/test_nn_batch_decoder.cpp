// BatchDecoder: several sequences stepped together give each sequence the logits a Decoder fed the
// same tokens gives (learned positions and RoPE, with the matvec path (S <= 4 rows) and the GEMM
// path (S > 4)), sequences of different lengths, reset slots, and refused input.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "attend/error.h"
#include "attend/model.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

ModelConfig small(int variant) {
  ModelConfig c;
  c.vocab = 13;
  c.context = 40;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 4;
  c.d_ff = 24;
  if (variant == 1) {  // Llama-style: RMSNorm, RoPE (positions differ per row in a batched step), SwiGLU, GQA
    c.norm = NormKind::rmsnorm;
    c.position = PositionKind::rope;
    c.mlp = MlpKind::swiglu;
    c.kv_heads = 2;
    c.tied_embeddings = false;
    c.bias = false;
  }
  return c;
}

std::vector<std::int32_t> tokens(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> t(n);
  for (auto& x : t) x = static_cast<std::int32_t>(rng() % 13);
  return t;
}

double worst_difference(const Tensor& a, std::int64_t row, const Tensor& b) {  // a's row against b's only row
  double worst = 0;
  const std::int64_t V = b.dim(1);
  for (std::int64_t v = 0; v < V; ++v)
    worst = std::max(worst, std::fabs(static_cast<double>(a.data_as<float>()[row * V + v]) - b.data_as<float>()[v]));
  return worst;
}

TEST(BatchDecoder, StepsEqualOneDecoderPerSequence) {
  for (int variant : {0, 1}) {
    Model model(small(variant), 21);
    for (std::int64_t S : {1, 3, 6}) {  // 6 rows: the weight products take the GEMM path
      BatchDecoder batch(model, S);
      std::vector<std::unique_ptr<Decoder>> single;  // Decoder is not movable
      for (std::int64_t s = 0; s < S; ++s) {
        single.push_back(std::make_unique<Decoder>(model));
        const std::vector<std::int32_t> prompt = tokens(static_cast<std::size_t>(1 + 3 * s), 100 + static_cast<std::uint64_t>(s));
        const Tensor a = batch.feed(s, prompt), b = single.back()->step_last(prompt);
        EXPECT_EQ(batch.length(s), 1 + 3 * s);
        EXPECT_LT(worst_difference(a, 0, b), 1e-5) << "feed, variant " << variant << " S " << S << " sequence " << s;
      }
      for (int k = 0; k < 5; ++k) {
        const std::vector<std::int32_t> next = tokens(static_cast<std::size_t>(S), 200 + static_cast<std::uint64_t>(k));
        const Tensor got = batch.step(next);
        ASSERT_EQ(got.dim(0), S);
        for (std::int64_t s = 0; s < S; ++s) {
          const Tensor want = single[static_cast<std::size_t>(s)]->step_last(std::span(&next[static_cast<std::size_t>(s)], 1));
          EXPECT_LT(worst_difference(got, s, want), 1e-5) << "step " << k << ", variant " << variant << " S " << S << " sequence " << s;
        }
      }
      for (std::int64_t s = 0; s < S; ++s) EXPECT_EQ(batch.length(s), 1 + 3 * s + 5);
    }
  }
}

// A reset slot serves a new sequence as a fresh decoder would, while the others keep their tokens;
// a slot that was never fed steps from position 0.
TEST(BatchDecoder, ResetSlotsAndEmptySlots) {
  Model model(small(1), 22);
  BatchDecoder batch(model, 3);
  Decoder d0(model), d2(model);
  const std::vector<std::int32_t> p0 = tokens(9, 1), p2 = tokens(4, 2);
  batch.feed(0, p0);
  d0.step_last(p0);
  batch.feed(2, p2);
  batch.reset(2);
  EXPECT_EQ(batch.length(2), 0);
  EXPECT_EQ(batch.length(0), 9);
  const std::vector<std::int32_t> p2b = tokens(6, 3);
  batch.feed(2, p2b);
  d2.step_last(p2b);
  Decoder d1(model);  // slot 1 was never fed: its first step is position 0
  const std::vector<std::int32_t> next = {4, 7, 1};
  const Tensor got = batch.step(next);
  EXPECT_LT(worst_difference(got, 0, d0.step_last(std::span(&next[0], 1))), 1e-5);
  EXPECT_LT(worst_difference(got, 1, d1.step_last(std::span(&next[1], 1))), 1e-5);
  EXPECT_LT(worst_difference(got, 2, d2.step_last(std::span(&next[2], 1))), 1e-5);
}

// With a half-precision cache each sequence still matches a Decoder with the same cache dtype.
TEST(BatchDecoder, HalfCachesMatchDecoderWithTheSameCache) {
  Model model(small(1), 24);
  for (DType kv : {DType::f16, DType::bf16}) {
    BatchDecoder batch(model, 2, kv);
    Decoder a(model, kv), b(model, kv);
    const std::vector<std::int32_t> pa = tokens(7, 5), pb = tokens(3, 6);
    batch.feed(0, pa), a.step_last(pa);
    batch.feed(1, pb), b.step_last(pb);
    for (int k = 0; k < 4; ++k) {
      const std::vector<std::int32_t> next = tokens(2, 300 + static_cast<std::uint64_t>(k));
      const Tensor got = batch.step(next);
      EXPECT_LT(worst_difference(got, 0, a.step_last(std::span(&next[0], 1))), 1e-5) << dtype_name(kv);
      EXPECT_LT(worst_difference(got, 1, b.step_last(std::span(&next[1], 1))), 1e-5) << dtype_name(kv);
    }
  }
}

TEST(BatchDecoder, RefusesBadInput) {
  Model model(small(0), 23);
  EXPECT_THROW(BatchDecoder(model, 0), Error);
  BatchDecoder batch(model, 2);
  EXPECT_THROW(batch.step(std::vector<std::int32_t>{1}), Error);           // one token for two sequences
  EXPECT_THROW(batch.feed(2, std::vector<std::int32_t>{1}), Error);        // no sequence 2
  EXPECT_THROW(batch.feed(-1, std::vector<std::int32_t>{1}), Error);
  EXPECT_THROW(batch.feed(0, std::vector<std::int32_t>{}), Error);         // nothing to feed
  EXPECT_THROW(batch.feed(0, std::vector<std::int32_t>{1, 99}), Error);    // outside the vocabulary
  EXPECT_THROW(batch.reset(5), Error);
  batch.feed(1, tokens(40, 4));                                            // sequence 1 fills the context
  EXPECT_THROW(batch.step(std::vector<std::int32_t>{1, 2}), Error);
  EXPECT_THROW(batch.feed(1, std::vector<std::int32_t>{1}), Error);
  EXPECT_EQ(batch.length(1), 40);
  EXPECT_EQ(batch.length(0), 0);
  batch.reset(1);
  EXPECT_NO_THROW(batch.step(std::vector<std::int32_t>{1, 2}));
}

}  // namespace
}  // namespace attend::nn
