#pragma once
// Model::Impl: parameters in one flat buffer (so the optimizer, clipping and checkpoints see one
// array), the activations a training step keeps for its backward, and the forward/backward passes.
//
// Shape letters: B batch, T tokens per sequence, R = B·T rows, E width, H heads, G KV heads,
// D head size, F MLP width, V vocabulary, L layers.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/kv_cache.h"
#include "attend/model.h"

namespace attend::nn {

struct ParamSpec {
  std::string name;                 // attend layout name, e.g. "h.0.attn.wq"
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0, size = 0;
  bool decay = false;               // AdamW weight decay applies (matrices, not norms/biases)
};

// Offsets into the flat parameter buffer; -1 where the configuration has no such tensor.
struct LayerParams {
  std::int64_t ln1_w = -1, ln1_b = -1, wq = -1, bq = -1, wk = -1, bk = -1, wv = -1, bv = -1, wo = -1, bo = -1;
  std::int64_t ln2_w = -1, ln2_b = -1, fc_w = -1, fc_b = -1, up_w = -1, up_b = -1, proj_w = -1, proj_b = -1;
};

// Incremental decoding state: one attend::KVCache per layer (one sequence each, f32, room for
// the whole context); attention over it runs through attend::decode.
struct LayerCaches {
  explicit LayerCaches(const ModelConfig& c);
  std::vector<KVCache> layers;
  std::int64_t length() const { return layers.front().length(0); }  // tokens cached (every layer alike between steps)
};

struct Acts {
  std::int64_t B = 0, T = 0;
  std::vector<float> resid;      // [L + 1, R, E]: resid[l] enters block l
  std::vector<float> resid_mid;  // [L, R, E]
  std::vector<float> ln1, ln1_mean, ln1_rstd, ln2, ln2_mean, ln2_rstd;  // [L, R, E], [L, R]
  std::vector<float> q, k, v, att, lse;  // [L, R, H·D], [L, R, G·D] x2, [L, R, H·D], [L, B, H, T]
  std::vector<float> fc, up, act;        // [L, R, F]
  std::vector<float> lnf, lnf_mean, lnf_rstd, logits;  // [R, E], [R], [R, V]
  double attention_forward_s = 0, attention_backward_s = 0;  // time in the attention kernels (accumulated)
  void resize(const ModelConfig& c, std::int64_t batch, std::int64_t tokens);
};

struct Model::Impl {
  ModelConfig config;
  std::vector<ParamSpec> specs;
  std::vector<LayerParams> layer;
  std::int64_t wte = -1, wpe = -1, lnf_w = -1, lnf_b = -1, lm_head = -1;
  std::vector<float> params, grads;

  std::int64_t param_count = 0;  // floats in params (and in grads)

  // Lays out the parameters; allocate = true: params and grads of zeros (after a memory check),
  // false: the layout only (to check a checkpoint holds that much before allocating).
  explicit Impl(const ModelConfig& c, bool allocate = true);
  void init_random(std::uint64_t seed);
  const float* p(std::int64_t off) const { return off < 0 ? nullptr : params.data() + off; }
  float* g(std::int64_t off) { return off < 0 ? nullptr : grads.data() + off; }
  std::int64_t head_dim() const { return config.d_model / config.heads; }

  // tokens [B, T] -> acts.logits [B·T, V]. With a cache (B = 1) the tokens follow the cached ones.
  // hooks (attend/trace.h): one sequence without a cache only.
  void forward(const std::int32_t* tokens, std::int64_t B, std::int64_t T, Acts& a, LayerCaches* cache,
               ModelTraceSink* trace, ModelHooks* hooks = nullptr) const;
  // After forward (no cache): loss over targets (−1 ignored), grads += d(loss · loss_scale).
  // Returns the summed loss and the counted targets.
  double backward(const std::int32_t* tokens, const std::int32_t* targets, Acts& a, float grad_scale,
                  std::int64_t* counted);
};

void validate_config(const ModelConfig& c, const char* where);

}  // namespace attend::nn
