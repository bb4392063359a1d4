#pragma once
// A decoder-only transformer on attend's kernels (GPT-2 and Llama families: LayerNorm or RMSNorm,
// learned positions or RoPE, GELU or SwiGLU MLP, multi-head or grouped-query attention): the
// contract the model runtime implements and the observatory, the command line and Python use.
//
// Shape letters: N tokens, V vocabulary, E model width, H heads, G KV heads, D head size
// (head_dim, or E / H), F MLP width.
//
// Concurrency contract:
// - Model: its const member functions (forward, generate, attention_weights, encode, decode_token,
//   config, save) may run on one model from any number of threads at once: they only read the
//   weights and keep their activations and caches per call. Their kernels share the process's
//   thread pool (attend/runtime.h); a trace sink given to forward is called from the calling thread
//   (attend/trace.h), its attention capture sinks from pool workers (attend/capture.h).
// - Changing the weights (a Trainer, attend/train.h; move assignment; anything through impl())
//   needs the model to itself: no other call on it, and no Decoder stepping over it, may overlap.
// - Decoder: owns its caches and activations, so one Decoder steps on one thread at a time (step
//   and length must not overlap on the same Decoder); Decoders over one model may step on
//   different threads at once. The model must outlive them.
// Tested under ThreadSanitizer: ConcurrentModel.*.
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

// RoPE frequency scaling (Hugging Face's rope_scaling). linear: every inverse frequency / factor.
// llama3 (transformers' _compute_llama3_parameters): with wavelength λ = 2π / f, frequencies with
// λ < original_context / high_freq_factor stay, those with λ > original_context / low_freq_factor
// are divided by factor, and those between are blended: (1 − s)·f / factor + s·f with
// s = (original_context / λ − low_freq_factor) / (high_freq_factor − low_freq_factor).
enum class RopeScalingKind { none, linear, llama3 };
struct RopeScaling {
  RopeScalingKind kind = RopeScalingKind::none;
  float factor = 1.0f;
  float low_freq_factor = 1.0f, high_freq_factor = 4.0f;  // llama3 only
  std::int64_t original_context = 8192;                  // llama3: original_max_position_embeddings
};

struct ModelConfig {
  std::int64_t vocab = 256, context = 256, d_model = 128, layers = 2, heads = 4, kv_heads = 4, d_ff = 512;
  NormKind norm = NormKind::layernorm;
  PositionKind position = PositionKind::learned;
  MlpKind mlp = MlpKind::gelu;
  bool tied_embeddings = true;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool bias = true;  // biases on every linear layer and LayerNorm (GPT-2 style)
  // Biases on some projections only (when `bias` is false): q, k, v (Qwen2; Llama's attention_bias
  // sets qkv_bias and out_bias), the attention output, the MLP projections (Llama's mlp_bias).
  bool qkv_bias = false, out_bias = false, mlp_bias = false;
  std::int64_t head_dim = 0;        // 0: d_model / heads; else Hugging Face's head_dim (H·D may differ from E)
  RopeScaling rope_scaling;
  std::int64_t sliding_window = 0;  // 0: none; W: each query sees the W most recent positions, its own included

  std::int64_t head_size() const { return head_dim > 0 ? head_dim : d_model / heads; }
  bool has_qkv_bias() const { return bias || qkv_bias; }
  bool has_out_bias() const { return bias || out_bias; }
  bool has_mlp_bias() const { return bias || mlp_bias; }
};

// One layer's attention weights as the EMF analysis reads them (f32, row-major, x·W convention:
// q = x·w_q). w_q [E, H·D], w_k [E, G·D], w_v [E, G·D], w_o [H·D, E].
struct AttentionWeights {
  std::int64_t d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::vector<float> w_q, w_k, w_v, w_o;
};

// How Model::load treats what it reads.
struct LoadOptions {
  bool allow_nonfinite = false;  // accept NaN/±inf weights (refused by default, naming the tensor)
  // bf16 weights: products of more than 16 rows (prefill, forward) round the activations to bf16 and
  // run AVX512-BF16 tiles with f32 accumulation, as torch's bf16 matmul and llama.cpp do: about
  // twice as fast, activations rounded to bf16 (relative error ~2^-9 each). Off (the default): the
  // exact products of the stored weights with f32 activations. Decode's one-row products keep f32
  // activations either way, so prefill and decode logits then differ at bf16's precision.
  bool bf16_activations = false;
};

class Model {
 public:
  Model(const ModelConfig& config, std::uint64_t seed);  // randomly initialised
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Loads, validating names, shapes and dtypes against the configuration:
  //  - a Hugging Face folder (or its config.json, or its model.safetensors.index.json): config.json
  //    decides the architecture (model_type gpt2, llama, mistral, qwen2); weights from
  //    model.safetensors or the shards its index lists, in f32, f16 or bf16;
  //  - a .safetensors file: attend's own layout (attend_config metadata); with a config.json beside
  //    it, a Hugging Face checkpoint; else the GPT-2 layout with n_head metadata;
  //  - a GGUF file (llama.cpp, v2/v3): general.architecture llama or qwen2; tensors F32, F16, BF16,
  //    Q8_0, Q4_0, Q4_K, Q6_K; Llama 3 RoPE scaling from its rope_freqs tensor (such a model cannot
  //    be saved in attend's layout); the tokenizer from its tokenizer.ggml.* keys.
  // The tokenizer beside (or inside) the checkpoint becomes the model's (see encode).
  // Weights are memory-mapped and stay in their stored dtype (products accumulate in f32; quantized
  // blocks are dequantized a panel of rows at a time); no gradient buffers exist until training
  // starts. Non-finite weights are refused, naming the tensor, unless options.allow_nonfinite.
  static Model load(const std::string& path, const LoadOptions& options = {});
  // attend's layout, f32, atomically; refuses a model with a non-finite weight and leaves `path`
  // as it was.
  void save(const std::string& path) const;

  const ModelConfig& config() const;
  std::int64_t num_parameters() const;
  // Text <-> tokens: a loaded checkpoint's own tokenizer (a Hugging Face folder's tokenizer.json,
  // vocab.json + merges.txt or tokenizer.model; a GGUF file's embedded vocabulary); byte-level for
  // attend's text models and checkpoints without tokenizer files; task models map their symbols.
  // encode adds BOS where the tokenizer's configuration asks for it (Llama, Mistral) unless add_special is false.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special = true) const;
  std::string decode_token(std::int32_t token) const;  // the bytes one token stands for (streaming)
  std::string decode(Span<const std::int32_t> tokens) const;  // tokens -> text (bytes; special tokens kept)
  std::int32_t eos_token() const;                      // the tokenizer's end of sequence, -1: none
  std::string tokenizer_description() const;           // e.g. "tokenizer.json: BPE (byte-level), 50257 tokens"

  // logits [N, V] for tokens [N] (N <= context); `trace` sees every layer; `hooks` may read and
  // change activations and attention patterns on the way (attend/trace.h, ModelHooks).
  Tensor forward(Span<const std::int32_t> tokens, ModelTraceSink* trace = nullptr, ModelHooks* hooks = nullptr) const;
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
// kv_dtype: what the per-layer key/value caches store. f32 (the default) is exact; f16 or bf16
// round each cached key and value once (as llama.cpp's default f16 cache does), halving the cache
// bytes every step reads (at context 1024 in GPT-2-small: 75 MB per token in f32, as much as the
// q8_0 weights' 132 MB); a step's first prefill still attends over its fresh f32 keys and values.
// (Q8_0 weights' one-row steps also round activations to 8 bits by default: attend/runtime.h.)
class Decoder {
 public:
  explicit Decoder(const Model& model, DType kv_dtype = DType::f32);  // the model must outlive the decoder
  ~Decoder();
  Tensor step(Span<const std::int32_t> tokens);  // tokens: [n] -> logits [n, V]
  // The same, returning only the last token's logits [1, V] (what generation samples from): the
  // unembedding runs for one row instead of n, equal to step()'s last row.
  Tensor step_last(Span<const std::int32_t> tokens);
  std::int64_t length() const;                        // tokens consumed so far
  // Forgets the consumed tokens (length() becomes 0) and keeps the caches' and activations' memory,
  // so the next sequence starts without allocating or faulting in pages (a serving loop's reuse).
  void reset();
  // Room for `tokens` in the caches now (they otherwise grow by doubling as tokens arrive, copying
  // what they hold): a server that knows a request's length avoids the copies mid-generation.
  void reserve(std::int64_t tokens);

 private:
  struct State;
  Tensor run(Span<const std::int32_t> tokens, bool last_only, const char* fn);
  std::unique_ptr<State> state_;
};

// Several sequences decoded together (a server's batch). Each sequence has its own cache rows and
// length; step() feeds one new token to every sequence at once, so each weight matrix is read once
// per step for all of them: decode is bound by reading the weights, and a batch of S sequences
// costs little more than one while S is small. Each sequence's logits equal (to f32 rounding) what
// a Decoder fed the same tokens returns.
class BatchDecoder {
 public:
  // The model must outlive the decoder; kv_dtype as for Decoder.
  BatchDecoder(const Model& model, std::int64_t sequences, DType kv_dtype = DType::f32);
  ~BatchDecoder();
  std::int64_t sequences() const;
  std::int64_t length(std::int64_t s) const;  // tokens sequence s has consumed
  // Feeds tokens to sequence s alone (its prompt, or more tokens): logits of the last one [1, V].
  Tensor feed(std::int64_t s, Span<const std::int32_t> tokens);
  // One new token per sequence, all at once: tokens [S] -> logits [S, V] (row s: sequence s).
  Tensor step(Span<const std::int32_t> tokens);
  void reset(std::int64_t s);  // sequence s forgets its tokens (its slot serves a new sequence)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace attend::nn
