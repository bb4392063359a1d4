#pragma once
// Model::Impl: the parameter layout (attend's names and shapes), where each parameter's values are
// (a WeightView per parameter: into the flat f32 buffer of a trainable model, or into a mapped
// checkpoint in its stored dtype), the activations a training step keeps for its backward, and the
// forward/backward passes.
//
// A trainable model (Model(config, seed), or any model once a Trainer starts) holds every parameter
// in one flat f32 buffer `params` with a gradient buffer of the same layout, so the optimizer,
// clipping and checkpoints see one array. A loaded model holds no f32 copy of its matrices and no
// gradients: its views point into the checkpoint's mapped bytes (bf16/f16 stay bf16/f16); only the
// small vectors (norm gains, biases) are converted to f32 at load.
//
// Shape letters: B batch, T tokens per sequence, R = B·T rows, E width, H heads, G KV heads,
// D head size, F MLP width, V vocabulary, L layers.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/kv_cache.h"
#include "attend/model.h"
#include "nn/weight.h"

namespace attend::nn {

// vector [n]; linear [I, O] (x·W convention); table [rows, E] (token/position embeddings, lm_head).
enum class ParamKind : std::uint8_t { vector, linear, table };

struct ParamSpec {
  std::string name;                 // attend layout name, e.g. "h.0.attn.wq"
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0, size = 0;
  bool decay = false;               // AdamW weight decay applies (matrices, not norms/biases)
  ParamKind kind = ParamKind::vector;
};

class TensorSource;  // nn/model_build.h
class TokenCodec;    // nn/token_codec.h

// Offsets into the flat parameter buffer; -1 where the configuration has no such tensor.
struct LayerParams {
  std::int64_t ln1_w = -1, ln1_b = -1, wq = -1, bq = -1, wk = -1, bk = -1, wv = -1, bv = -1, wo = -1, bo = -1;
  std::int64_t ln2_w = -1, ln2_b = -1, fc_w = -1, fc_b = -1, up_w = -1, up_b = -1, proj_w = -1, proj_b = -1;
};

// Incremental decoding state: one attend::KVCache per layer (S sequences each, f32); attention
// over it runs through attend::decode. The caches start small and grow (doubling, never past the
// context) as tokens arrive, so a model with a long context costs only the tokens actually used.
struct LayerCaches {
  // sequences: how many the caches hold (BatchDecoder; 1 for Decoder). dtype: what they store (f32
  // exact; f16 / bf16 round each key and value once, halving the bytes each decode step reads).
  explicit LayerCaches(const ModelConfig& c, std::int64_t sequences = 1, DType dtype = DType::f32);
  std::vector<KVCache> layers;
  std::int64_t capacity = 0;  // tokens per sequence each layer's cache holds before it must grow
  std::int64_t sequences() const { return layers.front().sequences(); }
  // Tokens cached for sequence s (every layer alike between steps).
  std::int64_t length(std::int64_t s = 0) const { return layers.front().length(s); }
  void reserve(std::int64_t tokens);  // room for `tokens` per sequence in all (copies what is cached when it grows)

 private:
  ModelConfig config_;
  DType dtype_;
};

// A forward's activations. The per-layer buffers below hold S layer slots: S = L when the forward
// is followed by a backward (it reads every layer's), S = 1 for inference (prefill, decode,
// evaluation: each layer overwrites the one before; a 1024-token GPT-2 prefill kept all 12 layers'
// and spent half its time zeroing and faulting in that memory, measured).
struct Acts {
  std::int64_t B = 0, T = 0;
  bool for_backward = true;   // set by the caller before forward: keep every layer for backward
  std::int64_t slots = 0;     // layer slots the buffers are sized for (L, or 1 for inference)
  std::vector<float> resid;      // [S + 1, R, E]: resid[l] enters block l (inference: slot l % 2)
  std::vector<float> resid_mid;  // [S, R, E]
  std::vector<float> ln1, ln1_mean, ln1_rstd, ln2, ln2_mean, ln2_rstd;  // [S, R, E], [S, R]
  std::vector<float> q, k, v, att, lse;  // [S, R, H·D], [S, R, G·D] x2, [S, R, H·D], [S, B, H, T]
  std::vector<float> fc, up, act;        // [S, R, F]
  std::vector<float> lnf, lnf_mean, lnf_rstd, logits;  // [R, E], [R], [R, V]
  double attention_forward_s = 0, attention_backward_s = 0;  // time in the attention kernels (accumulated)
  // The backward's gradients of activations, kept between steps (fresh vectors each step cost page
  // faults and zeroing: ~15 % of a training step, measured): [R, E] x2, [R, F] x3, [R, H·D] x2, [R, G·D] x2.
  std::vector<float> dres, dtmp, dF1, dF2, dF3, datt, dq, dk, dv;
  void resize(const ModelConfig& c, std::int64_t batch, std::int64_t tokens);  // for for_backward's slots
  std::int64_t slot(int layer) const { return for_backward ? layer : 0; }  // layer's slot in the [S, ...] buffers
  std::int64_t resid_slot(int layer) const { return for_backward ? layer : layer % 2; }  // its input's slot in resid
};

struct Model::Impl {
  ModelConfig config;
  std::vector<ParamSpec> specs;  // in offset order
  std::vector<LayerParams> layer;
  std::int64_t wte = -1, wpe = -1, lnf_w = -1, lnf_b = -1, lm_head = -1;
  std::vector<float> params, grads;  // trainable models only (empty for a loaded model until training)
  std::vector<WeightView> stored;    // per spec: where its values are, in their stored dtype and layout
  std::vector<std::vector<float>> owned;       // f32 copies made at load (norm gains, biases, unaligned data)
  std::vector<std::vector<std::int32_t>> row_maps;  // row permutations the views' row_map point into
  std::shared_ptr<const TensorSource> source;  // keeps the mapped checkpoint alive while views point into it
  std::shared_ptr<const TokenCodec> codec;     // text <-> tokens (the one member a tokenizer replaces)
  std::vector<double> rope_freq;               // [D/2] RoPE inverse frequencies, scaling applied
  bool rope_factors = false;                   // rope_freq divided by a GGUF rope_freqs tensor (no config expresses it)
  std::string origin;                          // the folder or file it was loaded from ("" if built in memory)

  std::int64_t param_count = 0;  // floats in params (and in grads)

  // Lays out the parameters; allocate = true: params and grads of zeros (after a memory check),
  // the model trainable; false: the layout only (a loader then fills `stored`).
  explicit Impl(const ModelConfig& c, bool allocate = true);
  ~Impl();
  void init_random(std::uint64_t seed);
  bool trainable() const { return !params.empty(); }
  // f32 values of the parameter at `off`: any parameter of a trainable model; a loaded model's
  // vectors (its matrices are read through w()).
  const float* p(std::int64_t off) const;
  float* g(std::int64_t off) { return off < 0 ? nullptr : grads.data() + off; }
  bool bf16_activations = false;  // LoadOptions::bf16_activations, carried by every view w() returns
  WeightView w(std::int64_t off) const {  // a matrix or table, stored dtype
    WeightView v = stored[spec_at(off)];
    v.bf16_activations = bf16_activations;
    return v;
  }
  std::size_t spec_at(std::int64_t off) const;  // the spec whose values start at `off`
  std::int64_t head_dim() const { return config.head_size(); }
  // One parameter's values as f32 in attend's layout (spec.shape), whatever its storage.
  std::vector<float> materialize(const ParamSpec& s) const;
  // Training starts: every parameter copied into params (f32, attend layout), grads allocated, the
  // mapped checkpoint released. No-op for a model that is already trainable.
  void make_trainable();
  void bind_params();  // stored[i] = views into params (after params is allocated or filled)

  // tokens [B, T] -> acts.logits [B·T, V]. With a cache (B = 1) the tokens follow the cached ones.
  // hooks (attend/trace.h): one sequence without a cache only. last_row_logits: only the last
  // row's logits, in acts.logits[0 .. V) (generation needs no others: a 1024-token GPT-2 prefill
  // spends a third of its products on the unembedding of every row).
  // With a cache: B == 1 continues cache sequence `seq` with T tokens; B > 1 (T == 1, B the cache's
  // sequences) feeds one new token to every sequence at once (row b continues sequence b).
  void forward(const std::int32_t* tokens, std::int64_t B, std::int64_t T, Acts& a, LayerCaches* cache,
               ModelTraceSink* trace, ModelHooks* hooks = nullptr, bool last_row_logits = false,
               std::int64_t seq = 0) const;
  // After forward (no cache): loss over targets (−1 ignored), grads += d(loss · loss_scale).
  // Returns the summed loss and the counted targets.
  double backward(const std::int32_t* tokens, const std::int32_t* targets, Acts& a, float grad_scale,
                  std::int64_t* counted);
};

void validate_config(const ModelConfig& c, const char* where);

}  // namespace attend::nn
