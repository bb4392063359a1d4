// Model: parameter layout, initialisation, storage (views, materialising, making trainable), the
// public forward and the task/byte codec.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/check.h"
#include "core/memory.h"
#include "nn/layers.h"
#include "nn/model_impl.h"
#include "nn/token_codec.h"

namespace attend::nn {

using I64 = std::int64_t;

void validate_config(const ModelConfig& c, const char* where) {
  if (c.vocab < 2 || c.vocab > (1 << 24)) detail::fail(where, "vocab ", c.vocab, " is outside [2, 2^24]");
  if (c.context < 1 || c.context > (1 << 20)) detail::fail(where, "context ", c.context, " is outside [1, 2^20]");
  if (c.layers < 1 || c.layers > 256) detail::fail(where, "layers ", c.layers, " is outside [1, 256]");
  if (c.d_model < 1 || c.d_model > 65536) detail::fail(where, "d_model ", c.d_model, " is outside [1, 65536]");
  if (c.d_ff < 1 || c.d_ff > 1 << 18) detail::fail(where, "d_ff ", c.d_ff, " is outside [1, 2^18]");
  if (c.heads < 1 || c.heads > 4096) detail::fail(where, "heads ", c.heads, " is outside [1, 4096]");
  if (c.head_dim < 0 || c.head_dim > 4096) detail::fail(where, "head_dim ", c.head_dim, " is outside [0, 4096] (0: d_model / heads)");
  if (c.head_dim == 0 && c.d_model % c.heads != 0) detail::fail(where, "heads ", c.heads, " does not divide d_model ", c.d_model);
  if (c.kv_heads < 1 || c.heads % c.kv_heads != 0) detail::fail(where, "kv_heads ", c.kv_heads, " does not divide heads ", c.heads);
  if (c.position == PositionKind::rope && c.head_size() % 2 != 0)
    detail::fail(where, "RoPE needs an even head size, got ", c.head_size());
  if (!(c.norm_eps > 0) || !(c.rope_base > 1)) detail::fail(where, "norm_eps ", c.norm_eps, " / rope_base ", c.rope_base, " out of range");
  if (c.sliding_window < 0) detail::fail(where, "sliding_window ", c.sliding_window, " is negative (0: none)");
  const RopeScaling& rs = c.rope_scaling;
  if (rs.kind != RopeScalingKind::none && !(rs.factor > 0 && rs.factor < 1e6))
    detail::fail(where, "rope scaling factor ", rs.factor, " is outside (0, 1e6)");
  if (rs.kind == RopeScalingKind::llama3 &&
      (!(rs.low_freq_factor > 0) || !(rs.high_freq_factor > rs.low_freq_factor) || !(rs.high_freq_factor < 1e6) || rs.original_context < 1))
    detail::fail(where, "llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and original_context >= 1, got ",
                 rs.low_freq_factor, ", ", rs.high_freq_factor, ", ", rs.original_context);
}

Model::Impl::Impl(const ModelConfig& c, bool allocate) : config(c) {
  validate_config(c, "Model");
  const I64 E = c.d_model, D = c.head_size(), H = c.heads, G = c.kv_heads, F = c.d_ff;
  I64 total = 0;
  auto add = [&](const std::string& name, std::vector<I64> shape, ParamKind kind) {
    I64 n = 1;
    for (I64 s : shape) n *= s;
    specs.push_back({name, std::move(shape), total, n, kind != ParamKind::vector, kind});
    total += n;
    return specs.back().offset;
  };
  const ParamKind vec = ParamKind::vector, lin = ParamKind::linear, tab = ParamKind::table;
  const bool ln = c.norm == NormKind::layernorm, b = c.bias;
  const bool bqkv = c.has_qkv_bias(), bo = c.has_out_bias(), bmlp = c.has_mlp_bias();
  wte = add("tok_emb", {c.vocab, E}, tab);
  if (c.position == PositionKind::learned) wpe = add("pos_emb", {c.context, E}, tab);
  for (I64 l = 0; l < c.layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    LayerParams lp;
    lp.ln1_w = add(h + "ln1.w", {E}, vec);
    if (ln && b) lp.ln1_b = add(h + "ln1.b", {E}, vec);
    lp.wq = add(h + "attn.wq", {E, H * D}, lin);
    if (bqkv) lp.bq = add(h + "attn.bq", {H * D}, vec);
    lp.wk = add(h + "attn.wk", {E, G * D}, lin);
    if (bqkv) lp.bk = add(h + "attn.bk", {G * D}, vec);
    lp.wv = add(h + "attn.wv", {E, G * D}, lin);
    if (bqkv) lp.bv = add(h + "attn.bv", {G * D}, vec);
    lp.wo = add(h + "attn.wo", {H * D, E}, lin);
    if (bo) lp.bo = add(h + "attn.bo", {E}, vec);
    lp.ln2_w = add(h + "ln2.w", {E}, vec);
    if (ln && b) lp.ln2_b = add(h + "ln2.b", {E}, vec);
    lp.fc_w = add(h + "mlp.fc", {E, F}, lin);
    if (bmlp) lp.fc_b = add(h + "mlp.fc_b", {F}, vec);
    if (c.mlp == MlpKind::swiglu) {
      lp.up_w = add(h + "mlp.up", {E, F}, lin);
      if (bmlp) lp.up_b = add(h + "mlp.up_b", {F}, vec);
    }
    lp.proj_w = add(h + "mlp.proj", {F, E}, lin);
    if (bmlp) lp.proj_b = add(h + "mlp.proj_b", {E}, vec);
    layer.push_back(lp);
  }
  lnf_w = add("ln_f.w", {E}, vec);
  if (ln && b) lnf_b = add("ln_f.b", {E}, vec);
  if (!c.tied_embeddings) lm_head = add("lm_head", {c.vocab, E}, tab);
  param_count = total;
  stored.resize(specs.size());
  codec = byte_codec(c.vocab);
  if (c.position == PositionKind::rope) rope_freq = rope_frequencies(c);
  if (!allocate) return;
  core::check_allocation("Model", 2 * static_cast<std::uint64_t>(total) * sizeof(float));  // params + grads
  params.assign(static_cast<std::size_t>(total), 0.0f);
  grads.assign(static_cast<std::size_t>(total), 0.0f);
  bind_params();
}

Model::Impl::~Impl() = default;

// GPT-2 initialisation: N(0, 0.02), residual projections N(0, 0.02/√(2L)), norm gains 1, biases 0.
void Model::Impl::init_random(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const float proj_std = 0.02f / std::sqrt(2.0f * static_cast<float>(config.layers));
  for (const ParamSpec& s : specs) {
    float* d = params.data() + s.offset;
    const bool gain = s.name.ends_with("ln1.w") || s.name.ends_with("ln2.w") || s.name == "ln_f.w";
    if (gain) {
      for (I64 i = 0; i < s.size; ++i) d[i] = 1.0f;
    } else if (s.shape.size() == 2) {
      const bool proj = s.name.ends_with("attn.wo") || s.name.ends_with("mlp.proj");
      std::normal_distribution<float> n(0.0f, proj ? proj_std : 0.02f);
      for (I64 i = 0; i < s.size; ++i) d[i] = n(rng);
    }
  }
}

Model::Model(const ModelConfig& config, std::uint64_t seed) : impl_(std::make_unique<Impl>(config)) {
  impl_->init_random(seed);
}
Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model Model::from_impl(std::unique_ptr<Impl> impl) { return Model(std::move(impl)); }
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelConfig& Model::config() const { return impl_->config; }
std::int64_t Model::num_parameters() const { return impl_->param_count; }

namespace {

// Byte-level models (vocab 256 or more) map bytes; task models map symbol t to 'a' + t and the last
// token (the separator) to '|'.
class ByteCodec final : public TokenCodec {
 public:
  ByteCodec(I64 vocab, bool bytes_only) : vocab_(vocab), bytes_(bytes_only || vocab >= 256) {}
  std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode_token(std::int32_t token) const override;
  std::string description() const override { return bytes_ ? "bytes (token b is byte b)" : "task letters a.. and '|'"; }

 private:
  I64 vocab_;
  bool bytes_;  // byte b is token b
};

std::vector<std::int32_t> ByteCodec::encode(std::string_view text, bool) const {
  const I64 V = vocab_;
  std::vector<std::int32_t> out;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    std::int32_t t = -1;
    if (bytes_) t = u < V ? u : -1;
    else if (ch == '|') t = static_cast<std::int32_t>(V - 1);
    else if (ch >= 'a' && ch - 'a' < V - 1) t = ch - 'a';
    else if (ch == ' ' || ch == '\n') continue;
    if (t < 0) detail::fail("Model::encode", "character '", ch, "' has no token in a vocabulary of ", V);
    out.push_back(t);
  }
  return out;
}

std::string ByteCodec::decode_token(std::int32_t token) const {
  const I64 V = vocab_;
  if (token < 0 || token >= V) detail::fail("Model::decode_token", "token ", token, " is outside [0, ", V, ")");
  if (bytes_ && token < 256) return std::string(1, static_cast<char>(token));
  if (!bytes_ && token == V - 1) return "|";
  if (!bytes_ && token < 26) return std::string(1, static_cast<char>('a' + token));
  std::string out = std::to_string(token);  // built by insert/append: GCC 12 warns on "<" + s + ">"
  out.insert(out.begin(), '<');
  out.push_back('>');
  return out;
}

}  // namespace

std::shared_ptr<const TokenCodec> byte_codec(I64 vocab, bool bytes_only) { return std::make_shared<ByteCodec>(vocab, bytes_only); }

std::vector<std::int32_t> Model::encode(std::string_view text, bool add_special) const { return impl_->codec->encode(text, add_special); }
std::string Model::decode_token(std::int32_t token) const { return impl_->codec->decode_token(token); }
std::string Model::decode(Span<const std::int32_t> tokens) const {
  for (std::int32_t t : tokens)
    if (t < 0 || t >= impl_->config.vocab) detail::fail("Model::decode", "token ", t, " is outside [0, ", impl_->config.vocab, ")");
  return impl_->codec->decode(tokens);
}
std::int32_t Model::eos_token() const { return impl_->codec->eos(); }
std::string Model::tokenizer_description() const { return impl_->codec->description(); }

// tokens: [N] -> logits [N, V]
Tensor Model::forward(Span<const std::int32_t> tokens, ModelTraceSink* trace, ModelHooks* hooks) const {
  const I64 n = static_cast<I64>(tokens.size());
  if (n < 1 || n > impl_->config.context)
    detail::fail("Model::forward", "got ", n, " tokens; need 1 to the context length ", impl_->config.context);
  Acts a;
  a.for_backward = false;  // inference: one layer's buffers, reused by every layer
  impl_->forward(tokens.data(), 1, n, a, nullptr, trace, hooks);
  Tensor out(DType::f32, {n, impl_->config.vocab});
  std::memcpy(out.data(), a.logits.data(), static_cast<std::size_t>(n * impl_->config.vocab) * sizeof(float));
  return out;
}

// Weights of one layer's attention in the x·W convention.
AttentionWeights Model::attention_weights(int layer) const {
  const ModelConfig& c = impl_->config;
  if (layer < 0 || layer >= c.layers) detail::fail("Model::attention_weights", "layer ", layer, " is outside [0, ", c.layers, ")");
  const LayerParams& lp = impl_->layer[static_cast<std::size_t>(layer)];
  const I64 E = c.d_model, D = impl_->head_dim();
  AttentionWeights w;
  w.d_model = E;
  w.heads = c.heads;
  w.kv_heads = c.kv_heads;
  w.head_dim = D;
  auto copy = [&](std::int64_t off) { return impl_->materialize(impl_->specs[impl_->spec_at(off)]); };
  w.w_q = copy(lp.wq);
  w.w_k = copy(lp.wk);
  w.w_v = copy(lp.wv);
  w.w_o = copy(lp.wo);
  return w;
}

}  // namespace attend::nn
