#pragma once
// A small decoder-only transformer (GPT-2 family) on attend's kernels: the contract the model
// runtime implements and the observatory, the command line and Python use.
//
// Shape letters: N tokens, V vocabulary, E model width, H heads, G KV heads, D = E / H, F MLP width.
#include <cstdint>
#include <functional>
#include <memory>
#include "attend/span.h"
#include <string>
#include <string_view>
#include <vector>

#include "attend/tensor.h"
#include "attend/trace.h"

namespace attend::nn {

enum class NormKind { layernorm, rmsnorm };
enum class PositionKind { learned, rope };
enum class MlpKind { gelu, swiglu };

struct ModelConfig {
  std::int64_t vocab = 256, context = 256, d_model = 128, layers = 2, heads = 4, kv_heads = 4, d_ff = 512;
  NormKind norm = NormKind::layernorm;
  PositionKind position = PositionKind::learned;
  MlpKind mlp = MlpKind::gelu;
  bool tied_embeddings = true;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool bias = true;  // biases on the linear layers and LayerNorm (GPT-2 style)
};

// One layer's attention weights as the EMF analysis reads them (f32, row-major, x·W convention:
// q = x·w_q). w_q [E, H·D], w_k [E, G·D], w_v [E, G·D], w_o [H·D, E].
struct AttentionWeights {
  std::int64_t d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::vector<float> w_q, w_k, w_v, w_o;
};

class Model {
 public:
  Model(const ModelConfig& config, std::uint64_t seed);  // randomly initialised
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Checkpoints: attend's own safetensors layout, or the GPT-2 (Hugging Face) layout; validated.
  static Model load(const std::string& path);
  void save(const std::string& path) const;  // atomically

  const ModelConfig& config() const;
  // Text <-> tokens (byte-level for text models; task models map their symbols).
  std::vector<std::int32_t> encode(std::string_view text) const;
  std::string decode_token(std::int32_t token) const;

  // logits [N, V] for tokens [N] (N <= context); `trace` sees every layer.
  Tensor forward(Span<const std::int32_t> tokens, ModelTraceSink* trace = nullptr) const;
  AttentionWeights attention_weights(int layer) const;

  // Generation (added by the model runtime). Incremental decoding through a per-layer key/value
  // cache gives the same logits as recomputing the sequence (use_cache = false recomputes).
  struct GenerateOptions {
    std::int64_t max_new_tokens = 32;
    float temperature = 1.0f;      // 0: greedy (argmax)
    std::int64_t top_k = 0;        // 0: off
    float top_p = 1.0f;            // 1: off (nucleus sampling otherwise)
    std::uint64_t seed = 0;
    std::int32_t stop_token = -1;  // -1: none; generation stops after emitting it
    bool use_cache = true;
  };
  // Returns the generated tokens (prompt excluded); on_token (optional) sees each as it is chosen
  // and may return false to stop. Stops at the context length.
  std::vector<std::int32_t> generate(Span<const std::int32_t> prompt, const GenerateOptions& opts,
                                     const std::function<bool(std::int32_t)>& on_token = {}) const;

  struct Impl;
  Impl& impl() const { return *impl_; }
  static Model from_impl(std::unique_ptr<Impl> impl);  // internal: wraps a built Impl

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Incremental decoding: each step feeds new tokens after the cached ones and returns their logits
// [n, V], identical (to f32 rounding) to the rows of forward() over the whole sequence.
class Decoder {
 public:
  explicit Decoder(const Model& model);  // the model must outlive the decoder
  ~Decoder();
  Tensor step(Span<const std::int32_t> tokens);  // tokens: [n] -> logits [n, V]
  std::int64_t length() const;                        // tokens consumed so far

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace attend::nn
