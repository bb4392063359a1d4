#include "bench/runtime_gguf.h"

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "attend/gguf.h"
#include "bench/bench_modes.h"
#include "core/check.h"

namespace attend::bench {
namespace {

using I64 = std::int64_t;
constexpr I64 kSlack = I64{1} << 22;  // pool values beyond the largest tensor: room for distinct offsets
constexpr I64 kAlign = 256;           // offsets in values: a multiple of every block size (q8_0: 32)

std::vector<std::string> filler_vocab(I64 vocab, std::vector<std::int32_t>& types, std::vector<float>& scores) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  types = {2, 3, 3};
  for (int b = 0; b < 256 && static_cast<I64>(tokens.size()) < vocab; ++b) {  // SentencePiece's byte fallback
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    tokens.emplace_back(hex);
    types.push_back(6);
  }
  for (I64 i = 0; static_cast<I64>(tokens.size()) < vocab; ++i) {
    tokens.push_back("\xe2\x96\x81" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i));
    types.push_back(1);
  }
  scores.resize(tokens.size());
  for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
  return tokens;
}

}  // namespace

GgmlType weight_format_type(const std::string& format) {
  if (format == "f32") return GgmlType::f32;
  if (format == "f16") return GgmlType::f16;
  if (format == "bf16") return GgmlType::bf16;
  if (format == "q8_0") return GgmlType::q8_0;
  detail::fail("bench weights", "unknown weight format '", format, "' (f32, f16, bf16, q8_0)");
}

RuntimeShape shape_named(const std::string& name, const char* where) {
  try {
    return runtime_shape(name);
  } catch (const std::invalid_argument& e) {
    detail::fail(where, e.what());
  }
}

void write_runtime_gguf(const RuntimeShape& s, GgmlType type, const std::string& path, std::uint64_t seed) {
  const I64 E = s.d_model, H = s.heads, G = s.kv_heads, D = s.head_dim(), F = s.d_ff, V = s.vocab;
  if (!s.swiglu || E % H != 0 || E % 32 != 0 || F % 32 != 0)
    detail::fail("write_runtime_gguf", "shape '", s.name, "' is not a Llama shape with widths in whole blocks");
  gguf::Writer w;
  w.set("general.architecture", "llama");
  w.set("general.name", "attend bench " + s.name + " (random weights)");
  w.set("llama.context_length", static_cast<std::uint32_t>(s.context));
  w.set("llama.embedding_length", static_cast<std::uint32_t>(E));
  w.set("llama.block_count", static_cast<std::uint32_t>(s.layers));
  w.set("llama.feed_forward_length", static_cast<std::uint32_t>(F));
  w.set("llama.attention.head_count", static_cast<std::uint32_t>(H));
  w.set("llama.attention.head_count_kv", static_cast<std::uint32_t>(G));
  w.set("llama.rope.dimension_count", static_cast<std::uint32_t>(D));
  w.set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  std::vector<std::int32_t> types;
  std::vector<float> scores;
  w.set("tokenizer.ggml.model", "llama");
  w.set("tokenizer.ggml.tokens", filler_vocab(V, types, scores));
  w.set("tokenizer.ggml.scores", scores);
  w.set("tokenizer.ggml.token_type", types);
  w.set("tokenizer.ggml.bos_token_id", std::uint32_t{1});
  w.set("tokenizer.ggml.eos_token_id", std::uint32_t{2});
  w.set("tokenizer.ggml.unknown_token_id", std::uint32_t{0});

  // The pool: drawn once, converted once; tensors are spans into it (the writer copies nothing).
  const I64 largest = std::max({V * E, F * E, H * D * E});
  const I64 pool_n = (largest + kSlack + kAlign - 1) / kAlign * kAlign;
  std::vector<float> values(static_cast<std::size_t>(pool_n));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float& v : values) v = normal(rng);
  std::vector<std::byte> pool(row_bytes(type, pool_n));
  quantize_row(type, values.data(), pool.data(), pool_n);
  values = {};
  std::vector<float> ones(static_cast<std::size_t>(E), 1.0f);
  const Span<const std::byte> ones_bytes(reinterpret_cast<const std::byte*>(ones.data()), ones.size() * sizeof(float));
  std::uint64_t index = 0;
  auto add = [&](const std::string& name, I64 cols, I64 rows) {
    const I64 offset = static_cast<I64>((++index * 0x9E3779B97F4A7C15ULL) >> 40) % (kSlack / kAlign) * kAlign;
    w.add_tensor(name, {cols, rows}, type, Span<const std::byte>(pool.data() + row_bytes(type, offset), row_bytes(type, rows * cols)));
  };
  add("token_embd.weight", E, V);
  for (I64 l = 0; l < s.layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor(b + "attn_norm.weight", {E}, GgmlType::f32, ones_bytes);
    add(b + "attn_q.weight", E, H * D);
    add(b + "attn_k.weight", E, G * D);
    add(b + "attn_v.weight", E, G * D);
    add(b + "attn_output.weight", H * D, E);
    w.add_tensor(b + "ffn_norm.weight", {E}, GgmlType::f32, ones_bytes);
    add(b + "ffn_gate.weight", E, F);
    add(b + "ffn_up.weight", E, F);
    add(b + "ffn_down.weight", F, E);
  }
  w.add_tensor("output_norm.weight", {E}, GgmlType::f32, ones_bytes);
  add("output.weight", E, V);
  w.write(path);
}

namespace {

// attend bench --write-gguf --shape NAME --weights FMT --file OUT
int run_write_gguf(const BenchCommon& c) {
  if (c.file.empty()) detail::fail("bench --write-gguf", "--file OUT.gguf is required");
  const RuntimeShape s = shape_named(c.shape, "bench --write-gguf");
  write_runtime_gguf(s, weight_format_type(c.weights), c.file);
  std::printf("wrote %s: %s, %ld layers x %ld wide, %ld heads (%ld KV), F %ld, vocab %ld, weights %s, %.3f G product weights\n",
              c.file.c_str(), s.name.c_str(), static_cast<long>(s.layers), static_cast<long>(s.d_model), static_cast<long>(s.heads),
              static_cast<long>(s.kv_heads), static_cast<long>(s.d_ff), static_cast<long>(s.vocab), c.weights.c_str(),
              static_cast<double>(s.matmul_params()) / 1e9);
  return 0;
}

const bool registered = register_bench_mode(
    "--write-gguf", "write a llama-architecture GGUF with random weights (--shape, --weights, --file) for the runtime benchmarks",
    run_write_gguf);

}  // namespace
}  // namespace attend::bench
