// The FLOP and byte counts of the runtime benchmarks (bench/runtime_counts.h, issue 24) against
// hand counts, brute-force counts and attend's own models' parameter counts.
#include <gtest/gtest.h>

#include "../../bench/runtime_counts.h"
#include "attend/model.h"

using namespace attend;
using attend::bench::RuntimeShape;

namespace {

nn::ModelConfig llama_config(const RuntimeShape& s) {
  nn::ModelConfig c;
  c.vocab = s.vocab;
  c.context = s.context;
  c.d_model = s.d_model;
  c.layers = s.layers;
  c.heads = s.heads;
  c.kv_heads = s.kv_heads;
  c.d_ff = s.d_ff;
  c.norm = nn::NormKind::rmsnorm;
  c.position = nn::PositionKind::rope;
  c.mlp = nn::MlpKind::swiglu;
  c.tied_embeddings = false;
  c.bias = false;
  return c;
}

}  // namespace

TEST(BenchRuntimeCounts, ShapesMatchHandCounts) {
  // GPT-2 small's non-embedding weights: 12 × (4·768² + 2·768·3072) = 84,934,656; SwiGLU at F = 2048
  // holds the same MLP weights, so the layers count the same. Its head: 50257 × 768.
  const RuntimeShape g = bench::runtime_shape("gpt2-small");
  EXPECT_EQ(g.layer_matmul_params(), 12 * (4 * 768 * 768 + 2 * 768 * 3072));
  EXPECT_EQ(g.layer_matmul_params(), 84934656);
  EXPECT_EQ(g.matmul_params(), 84934656 + 50257 * 768);
  // llama-1b: per block q, o 2048² each, k, v 2048·512 each (8 KV heads of 64), MLP 3·2048·8192.
  const RuntimeShape l = bench::runtime_shape("llama-1b");
  EXPECT_EQ(l.head_dim(), 64);
  EXPECT_EQ(l.block_matmul_params(), 2 * 2048 * 2048 + 2 * 2048 * 512 + 3 * 2048 * 8192);
  EXPECT_EQ(l.matmul_params(), 16 * 60817408LL + 32000 * 2048LL);
  EXPECT_THROW(bench::runtime_shape("gpt5"), std::invalid_argument);
  EXPECT_THROW(bench::weight_format_bytes("q4_0"), std::invalid_argument);
  EXPECT_DOUBLE_EQ(bench::weight_format_bytes("q8_0"), 34.0 / 32.0);
}

TEST(BenchRuntimeCounts, ParameterCountsAgreeWithAttendModels) {
  // attend's own models hold exactly the product weights plus embeddings, norms and biases.
  const RuntimeShape t = bench::runtime_shape("tiny");
  const nn::Model llama(llama_config(t), 1);
  const std::int64_t E = t.d_model, L = t.layers;
  EXPECT_EQ(llama.num_parameters(), t.matmul_params() + t.vocab * E + (2 * L + 1) * E);  // + embedding, RMSNorm weights

  const RuntimeShape s = bench::runtime_shape("train-4x128");
  nn::ModelConfig c;  // GPT-2 style: LayerNorm, learned positions, GELU, tied head, biases
  c.vocab = s.vocab;
  c.context = s.context;
  c.d_model = s.d_model;
  c.layers = s.layers;
  c.heads = s.heads;
  c.kv_heads = s.kv_heads;
  c.d_ff = s.d_ff;
  const nn::Model gpt(c, 1);
  const std::int64_t D = s.head_dim(), biases = s.heads * D + 2 * s.kv_heads * D + s.d_model + s.d_ff + s.d_model;
  EXPECT_EQ(gpt.num_parameters(), s.matmul_params() + s.context * s.d_model + s.layers * (biases + 4 * s.d_model) + 2 * s.d_model);
}

TEST(BenchRuntimeCounts, PrefillAndDecodeFlopsAgreeWithBruteForce) {
  const RuntimeShape s = bench::runtime_shape("tiny");
  const std::int64_t T = 37, D = s.head_dim();
  double attention = 0;  // causal: query i sees keys 0..i; q·k and p·v are 2·D FLOPs each per pair and head
  for (std::int64_t i = 0; i < T; ++i)
    for (std::int64_t j = 0; j <= i; ++j) attention += 2.0 * (2.0 * static_cast<double>(D)) * static_cast<double>(s.heads * s.layers);
  const double products = 2.0 * static_cast<double>(s.layer_matmul_params()) * T;
  EXPECT_DOUBLE_EQ(bench::prefill_flops(s, T, 1), products + attention + 2.0 * static_cast<double>(s.vocab * s.d_model));
  EXPECT_DOUBLE_EQ(bench::prefill_flops(s, T, T) - bench::prefill_flops(s, T, 1), 2.0 * static_cast<double>(s.vocab * s.d_model) * (T - 1));
  // One decoded token at position T is the prefill of T + 1 minus that of T, plus its own head row.
  EXPECT_DOUBLE_EQ(bench::decode_flops(s, T),
                   bench::prefill_flops(s, T + 1, 1) - bench::prefill_flops(s, T, 1) + 2.0 * static_cast<double>(s.vocab * s.d_model));
  // Decode bytes: llama-1b in bf16 reads ~2.08 GB of weights per token; f32 KV at position 1023: 2·16·8·64·1024·4 bytes.
  const RuntimeShape l = bench::runtime_shape("llama-1b");
  EXPECT_DOUBLE_EQ(bench::decode_weight_bytes(l, 2), 2.0 * static_cast<double>(l.matmul_params() + 2048));
  EXPECT_DOUBLE_EQ(bench::decode_kv_bytes(l, 1023, 4), 2.0 * 16 * 8 * 64 * 1024 * 4);
}

TEST(BenchRuntimeCounts, TrainingFlopsArePalmsCount) {
  // 6 per product weight per token, plus 12·L·E·T (PaLM, appendix B), for train-6x256 at T = 256.
  const RuntimeShape s = bench::runtime_shape("train-6x256");
  const double weights = 6 * (4.0 * 256 * 256 + 2.0 * 256 * 1024) + 256.0 * 256;
  EXPECT_DOUBLE_EQ(static_cast<double>(s.matmul_params()), weights);
  EXPECT_DOUBLE_EQ(bench::train_flops_per_token(s, 256), 6 * weights + 12.0 * 6 * 256 * 256);
}

TEST(BenchRuntimeCounts, PromptSkipsSpecialTokensAndStaysInVocabulary) {
  for (std::int64_t V : {512, 32000, 50257})
    for (std::int64_t i = 0; i < 4096; ++i) {
      const std::int32_t t = bench::bench_token(i, V);
      ASSERT_GE(t, 3);
      ASSERT_LT(t, V);
    }
  EXPECT_EQ(bench::bench_token(0, 50257), 14);
  EXPECT_EQ(bench::bench_token(1, 50257), 3 + (7919 + 11) % 50254);
}
