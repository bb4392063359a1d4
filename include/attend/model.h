#pragma once
// A small decoder-only transformer (GPT-2 family) on attend's kernels: the contract the model
// runtime implements and the observatory, the command line and Python use.
//
// Shape letters: N tokens, V vocabulary, E model width, H heads, G KV heads, D = E / H, F MLP width.
#include <cstdint>
#include <memory>
#include <span>
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
  Tensor forward(std::span<const std::int32_t> tokens, ModelTraceSink* trace = nullptr) const;
  AttentionWeights attention_weights(int layer) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attend::nn
