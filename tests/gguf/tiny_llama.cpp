// Writes a one-layer Llama-architecture GGUF with attend's writer, each weight in another block
// format (f32, f16, bf16, q8_0, q4_0, q4_K, q6_K), and a JSON file with the next-token
// probabilities for one-token prompts, computed in double from attend's dequantized weights.
// With a single token, attention is exactly the value projection (softmax over one key is 1), so
// the whole forward pass is a few matrix-vector products: llama.cpp must agree after loading the
// file (tests/gguf/llama_cpp_load.mjs). Usage: gguf_tiny_llama OUT.gguf OUT.json
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "attend/gguf.h"

using namespace attend;

namespace {

constexpr std::int64_t kVocab = 3 + 256 + 29, kEmbd = 256, kFf = 256, kHeads = 4;

struct Weight {
  std::vector<float> deq;  // what the file holds, dequantized: [rows][cols], cols = ne0
  std::int64_t rows = 1, cols = 1;
};

// Adds `name` of GGUF dims {cols, rows} in `type`, filled with N(0, std²); keeps the dequantized values.
Weight add(gguf::Writer& w, std::mt19937& rng, const std::string& name, std::int64_t cols, std::int64_t rows, GgmlType type,
           float std, float mean = 0.0f) {
  std::normal_distribution<float> g(mean, std);
  std::vector<float> x(static_cast<std::size_t>(rows * cols));
  for (float& v : x) v = g(rng);
  std::vector<std::int64_t> dims = rows == 1 ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{cols, rows};
  w.add_tensor_f32(name, dims, type, x.data());
  std::vector<std::uint8_t> bytes(row_bytes(type, rows * cols));
  quantize_row(type, x.data(), bytes.data(), rows * cols);
  Weight out{std::vector<float>(x.size()), rows, cols};
  dequantize_row(type, bytes.data(), out.deq.data(), rows * cols);
  return out;
}

std::vector<double> matvec(const Weight& m, const std::vector<double>& x) {
  std::vector<double> y(static_cast<std::size_t>(m.rows));
  for (std::int64_t r = 0; r < m.rows; ++r)
    for (std::int64_t c = 0; c < m.cols; ++c) y[static_cast<std::size_t>(r)] += m.deq[static_cast<std::size_t>(r * m.cols + c)] * x[static_cast<std::size_t>(c)];
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const Weight& g) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-5);
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * g.deq[i];
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gguf_tiny_llama OUT.gguf OUT.json\n");
    return 2;
  }
  gguf::Writer w;
  w.set("general.architecture", "llama");
  w.set("general.name", "attend tiny llama");
  w.set("llama.context_length", std::uint32_t{256});
  w.set("llama.embedding_length", std::uint32_t{kEmbd});
  w.set("llama.block_count", std::uint32_t{1});
  w.set("llama.feed_forward_length", std::uint32_t{kFf});
  w.set("llama.attention.head_count", std::uint32_t{kHeads});
  w.set("llama.attention.head_count_kv", std::uint32_t{kHeads});
  w.set("llama.rope.dimension_count", std::uint32_t{kEmbd / kHeads});
  w.set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  // A SentencePiece-style vocabulary: unknown, BOS, EOS, the 256 byte tokens (SentencePiece's
  // fallback for characters without a piece), then plain pieces.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<std::int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    tokens.emplace_back(hex);
    types.push_back(6);
  }
  for (std::int64_t i = 0; static_cast<std::int64_t>(tokens.size()) < kVocab; ++i) {
    tokens.push_back("\xe2\x96\x81" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i));
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
  w.set("tokenizer.ggml.model", "llama");
  w.set("tokenizer.ggml.tokens", tokens);
  w.set("tokenizer.ggml.scores", scores);
  w.set("tokenizer.ggml.token_type", types);
  w.set("tokenizer.ggml.bos_token_id", std::uint32_t{1});
  w.set("tokenizer.ggml.eos_token_id", std::uint32_t{2});
  w.set("tokenizer.ggml.unknown_token_id", std::uint32_t{0});

  std::mt19937 rng(2024);
  const float s = 1.0f / std::sqrt(static_cast<float>(kEmbd));
  const Weight embd = add(w, rng, "token_embd.weight", kEmbd, kVocab, GgmlType::q8_0, 1.0f);
  const Weight attn_norm = add(w, rng, "blk.0.attn_norm.weight", kEmbd, 1, GgmlType::f32, 0.1f, 1.0f);
  (void)add(w, rng, "blk.0.attn_q.weight", kEmbd, kEmbd, GgmlType::f16, s);   // q and k do not matter for one token
  (void)add(w, rng, "blk.0.attn_k.weight", kEmbd, kEmbd, GgmlType::bf16, s);
  const Weight wv = add(w, rng, "blk.0.attn_v.weight", kEmbd, kEmbd, GgmlType::q6_K, s);
  const Weight wo = add(w, rng, "blk.0.attn_output.weight", kEmbd, kEmbd, GgmlType::q4_0, s);
  const Weight ffn_norm = add(w, rng, "blk.0.ffn_norm.weight", kEmbd, 1, GgmlType::f32, 0.1f, 1.0f);
  const Weight wg = add(w, rng, "blk.0.ffn_gate.weight", kEmbd, kFf, GgmlType::q4_K, s);
  const Weight wu = add(w, rng, "blk.0.ffn_up.weight", kEmbd, kFf, GgmlType::q8_0, s);
  const Weight wd = add(w, rng, "blk.0.ffn_down.weight", kFf, kEmbd, GgmlType::q6_K, 1.0f / std::sqrt(static_cast<float>(kFf)));
  const Weight out_norm = add(w, rng, "output_norm.weight", kEmbd, 1, GgmlType::f32, 0.1f, 1.0f);
  const Weight out = add(w, rng, "output.weight", kEmbd, kVocab, GgmlType::q4_K, 3 * s);
  w.write(argv[1]);

  std::ofstream json(argv[2]);
  json << "{\"vocab\": " << kVocab << ", \"prompts\": [";
  for (std::int64_t t = 3; t < kVocab; t += 19) {  // one-token prompts
    std::vector<double> x(embd.deq.begin() + t * kEmbd, embd.deq.begin() + (t + 1) * kEmbd);
    const std::vector<double> o = matvec(wo, matvec(wv, rmsnorm(x, attn_norm)));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    const std::vector<double> h = rmsnorm(x, ffn_norm), g = matvec(wg, h), u = matvec(wu, h);
    std::vector<double> a(g.size());
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
    const std::vector<double> d = matvec(wd, a);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += d[i];
    const std::vector<double> logits = matvec(out, rmsnorm(x, out_norm));
    double mx = logits[0], z = 0;
    for (double l : logits) mx = std::max(mx, l);
    for (double l : logits) z += std::exp(l - mx);
    json << (t > 3 ? ", " : "") << "{\"token\": " << t << ", \"probabilities\": [";
    for (std::size_t v = 0; v < logits.size(); ++v) json << (v ? ", " : "") << std::exp(logits[v] - mx) / z;
    json << "]}";
  }
  json << "]}\n";
  return json ? 0 : 1;
}
