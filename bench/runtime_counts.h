#pragma once
// The FLOP and byte counts of the runtime benchmarks against llama.cpp and torch (issue 24), in one
// place: `attend bench --prefill / --generate / --train` print them, bench/scripts/runtime_peers.py
// re-derives the same numbers from the JSON shape fields and asserts they agree, and
// tests/cpp/test_bench_runtime_counts.cpp checks them against hand counts. Header-only and standard
// C++ only, so the test includes it without linking the bench objects.
//
// Shape letters: L layers, E model width, H heads, G KV heads, D head size, F MLP width, V vocabulary,
// T tokens (prompt length or training context).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attend::bench {

// A decoder-only transformer as the benchmarks count it. swiglu: Llama (gate, up, down: 3·E·F);
// else GPT-2's GELU MLP (2·E·F). The output head is one V×E product either way (tied or not).
struct RuntimeShape {
  std::string name;
  std::int64_t layers = 0, d_model = 0, heads = 0, kv_heads = 0, d_ff = 0, vocab = 0, context = 0;
  bool swiglu = true;
  std::int64_t head_dim() const { return d_model / heads; }
  // Weights of one block's products: W_Q [E, H·D], W_K and W_V [E, G·D], W_O [H·D, E], the MLP.
  std::int64_t block_matmul_params() const {
    const std::int64_t D = head_dim();
    return d_model * heads * D * 2 + d_model * kv_heads * D * 2 + (swiglu ? 3 : 2) * d_model * d_ff;
  }
  std::int64_t layer_matmul_params() const { return layers * block_matmul_params(); }
  std::int64_t head_params() const { return vocab * d_model; }  // the output head (W_U)
  std::int64_t matmul_params() const { return layer_matmul_params() + head_params(); }
};

// The benchmark shapes (the GGUF files are written in llama.cpp's llama architecture: RMSNorm,
// RoPE, SwiGLU, untied output). gpt2-small: GPT-2 small's widths; F = 2048 so SwiGLU's three
// matrices hold GPT-2's 2·768·3072 MLP weights (same FLOPs and bytes per token). llama-1b: a
// TinyLlama/Llama-3.2-1B-like shape. tiny: for tests. train-*: GPT-2-style (LayerNorm, learned
// positions, GELU, tied embeddings) byte-level models for the training benchmark.
inline std::vector<RuntimeShape> runtime_shapes() {
  return {
      {"gpt2-small", 12, 768, 12, 12, 2048, 50257, 1024, true},
      {"llama-1b", 16, 2048, 32, 8, 8192, 32000, 1024, true},
      {"tiny", 2, 128, 4, 2, 256, 512, 1024, true},
      {"train-6x256", 6, 256, 8, 8, 1024, 256, 256, false},
      {"train-4x128", 4, 128, 4, 4, 512, 256, 256, false},
  };
}

inline RuntimeShape runtime_shape(const std::string& name) {
  for (const RuntimeShape& s : runtime_shapes())
    if (s.name == name) return s;
  throw std::invalid_argument("runtime_shape: unknown shape '" + name + "' (gpt2-small, llama-1b, tiny, train-6x256, train-4x128)");
}

// Prefill of T prompt tokens into an empty cache: every block product per token (2 FLOPs per
// weight), causal attention (q·kᵀ and p·v, 2·D FLOPs each per (query, key) pair, T(T+1)/2 pairs per
// head), and the output head for `logit_rows` rows (1: what generation needs, llama.cpp's and the
// torch script's and attend's Decoder::step_last count; T: Decoder::step, which returns every row's logits).
inline double prefill_flops(const RuntimeShape& s, std::int64_t T, std::int64_t logit_rows) {
  const double pairs = static_cast<double>(T) * static_cast<double>(T + 1) / 2;
  const double attention = 4.0 * static_cast<double>(s.layers * s.heads * s.head_dim()) * pairs;
  return 2.0 * static_cast<double>(s.layer_matmul_params()) * static_cast<double>(T) + attention +
         2.0 * static_cast<double>(s.head_params()) * static_cast<double>(logit_rows);
}

// One decoded token at position `pos` (pos tokens already cached): every product once, attention
// over pos + 1 keys.
inline double decode_flops(const RuntimeShape& s, std::int64_t pos) {
  return 2.0 * static_cast<double>(s.matmul_params()) + 4.0 * static_cast<double>(s.layers * s.heads * s.head_dim()) * static_cast<double>(pos + 1);
}

// Bytes of weights one decoded token reads: every product's weights in the stored format
// (`bytes_per_weight`: 4 f32, 2 f16/bf16, 34/32 q8_0) plus one embedding row. Norm weights (f32,
// a few KB) are left out.
inline double decode_weight_bytes(const RuntimeShape& s, double bytes_per_weight) {
  return static_cast<double>(s.matmul_params() + s.d_model) * bytes_per_weight;
}

// Bytes of the KV cache one decoded token at position `pos` reads (K and V of pos + 1 positions).
inline double decode_kv_bytes(const RuntimeShape& s, std::int64_t pos, double bytes_per_element) {
  return 2.0 * static_cast<double>(s.layers * s.kv_heads * s.head_dim()) * static_cast<double>(pos + 1) * bytes_per_element;
}

// Bytes per weight of a GGUF weight format by name (f32, f16, bf16, q8_0).
inline double weight_format_bytes(const std::string& format) {
  if (format == "f32") return 4;
  if (format == "f16" || format == "bf16") return 2;
  if (format == "q8_0") return 34.0 / 32.0;  // 32 int8 values and one f16 scale per block
  throw std::invalid_argument("weight_format_bytes: unknown format '" + format + "' (f32, f16, bf16, q8_0)");
}

// Model FLOPs of training, per token (PaLM's convention, Chowdhery et al. 2022, appendix B):
// 6 per product weight (forward 2, backward 4) plus 12·L·E·T for attention (q·kᵀ and p·v, forward
// and backward, without discounting the causal half). Norms, softmax and the optimizer not counted.
inline double train_flops_per_token(const RuntimeShape& s, std::int64_t T) {
  return 6.0 * static_cast<double>(s.matmul_params()) + 12.0 * static_cast<double>(s.layers * s.heads * s.head_dim()) * static_cast<double>(T);
}

// The prompt every peer feeds: token i = 3 + (i·7919 + 11) mod (V − 3) (skips the three special
// tokens of the written vocabulary). bench/scripts/*peer* repeat this formula and report the sum.
inline std::int32_t bench_token(std::int64_t i, std::int64_t vocab) {
  return static_cast<std::int32_t>(3 + (i * 7919 + 11) % (vocab - 3));
}

}  // namespace attend::bench
