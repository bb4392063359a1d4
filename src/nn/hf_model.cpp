// Hugging Face checkpoints: config.json -> ModelArchitecture (gpt2, llama, mistral, qwen2), with the
// tensors bound by their transformers names; the folder's safetensors (single or sharded) mapped.
#include "nn/hf_model.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attend/io.h"
#include "core/check.h"
#include "nn/model_impl.h"
#include "nn/token_codec.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
using json = nlohmann::json;
constexpr const char* kFn = "Model::load";
constexpr const char* kSupported = "gpt2, llama, mistral, qwen2";

// Typed reads of config.json keys; every message names the key. A null value counts as absent.
class ConfigReader {
 public:
  ConfigReader(const json& j, std::string where, std::string prefix = "") : j_(j), where_(std::move(where)), prefix_(std::move(prefix)) {}
  bool present(const char* k) const { return j_.contains(k); }
  bool has(const char* k) const { return j_.contains(k) && !j_[k].is_null(); }
  I64 integer(const char* k) const {
    if (!has(k)) detail::fail(kFn, where_, ": config.json has no '", prefix_, k, "'");
    const json& v = j_[k];
    if (!v.is_number_integer() || (v.is_number_unsigned() ? v.get<std::uint64_t>() > (1ull << 40) : v.get<I64>() < 0))
      detail::fail(kFn, where_, ": config.json '", prefix_, k, "' is ", v.dump(), ", not an integer in [0, 2^40]");
    return v.get<I64>();
  }
  I64 integer_or(const char* k, I64 d) const { return has(k) ? integer(k) : d; }
  double number(const char* k) const {
    if (!has(k)) detail::fail(kFn, where_, ": config.json has no '", prefix_, k, "'");
    const json& v = j_[k];
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      detail::fail(kFn, where_, ": config.json '", prefix_, k, "' is ", v.dump(), ", not a finite number");
    return v.get<double>();
  }
  double number_or(const char* k, double d) const { return has(k) ? number(k) : d; }
  bool boolean_or(const char* k, bool d) const {
    if (!has(k)) return d;
    if (!j_[k].is_boolean()) detail::fail(kFn, where_, ": config.json '", prefix_, k, "' is ", j_[k].dump(), ", not true or false");
    return j_[k].get<bool>();
  }
  std::string string_or(const char* k, const std::string& d) const {
    if (!has(k)) return d;
    if (!j_[k].is_string()) detail::fail(kFn, where_, ": config.json '", prefix_, k, "' is ", j_[k].dump(), ", not a string");
    return j_[k].get<std::string>();
  }
  const json& raw(const char* k) const { return j_[k]; }
  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_, prefix_;
};

// The config read from config.json, checked before any per-layer tensor binding is built (a layer
// count of 2^31 would build 2^31 bindings; fuzz_hf_config ran out of memory): every range
// (validate_config), then no checkpoint layer past the count config.json gives under `key` (fewer
// layers show up as a missing tensor).
void check_config(const ModelConfig& c, const TensorSource& src, const std::string& layer_prefix, const char* key, const std::string& where) {
  validate_config(c, (std::string(kFn) + ": " + where + ": config.json").c_str());
  const I64 layers = c.layers;
  for (const std::string& name : src.names()) {
    if (!name.starts_with(layer_prefix)) continue;
    const std::size_t dot = name.find('.', layer_prefix.size());
    const std::string idx = name.substr(layer_prefix.size(), dot == std::string::npos ? std::string::npos : dot - layer_prefix.size());
    if (idx.empty() || idx.size() > 9 || idx.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoll(idx) >= layers)
      detail::fail(kFn, where, ": config.json says ", layers, " layers (", key, ") but the checkpoint has '", name, "'");
  }
}

RopeScaling rope_scaling(const ConfigReader& cfg) {
  RopeScaling s;
  if (!cfg.has("rope_scaling")) return s;
  const json& r = cfg.raw("rope_scaling");
  if (!r.is_object()) detail::fail(kFn, cfg.where(), ": config.json 'rope_scaling' is ", r.dump(), ", not an object");
  const ConfigReader rc(r, cfg.where(), "rope_scaling.");
  const std::string type = rc.has("rope_type") ? rc.string_or("rope_type", "") : rc.string_or("type", "");
  if (type == "default") return s;
  if (type == "linear") {
    s.kind = RopeScalingKind::linear;
    s.factor = static_cast<float>(rc.number("factor"));
  } else if (type == "llama3") {
    s.kind = RopeScalingKind::llama3;
    s.factor = static_cast<float>(rc.number("factor"));
    s.low_freq_factor = static_cast<float>(rc.number("low_freq_factor"));
    s.high_freq_factor = static_cast<float>(rc.number("high_freq_factor"));
    s.original_context = rc.integer("original_max_position_embeddings");
  } else {
    detail::fail(kFn, cfg.where(), ": config.json rope_scaling type '", type, "' is not supported (linear, llama3)");
  }
  return s;
}

std::string str(I64 v) { return std::to_string(v); }

void gpt2_config(const ConfigReader& cfg, const TensorSource& src, ModelArchitecture& a) {
  ModelConfig& c = a.config;
  const std::string& where = cfg.where();
  c.d_model = cfg.integer("n_embd");
  c.heads = cfg.integer("n_head");
  c.layers = cfg.integer("n_layer");
  c.vocab = cfg.integer("vocab_size");
  c.context = cfg.has("n_positions") ? cfg.integer("n_positions") : cfg.integer("n_ctx");
  c.d_ff = cfg.integer_or("n_inner", 4 * c.d_model);
  const std::string act = cfg.string_or("activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    detail::fail(kFn, where, ": config.json activation_function '", act, "' is not supported (gelu_new, gelu_pytorch_tanh)");
  if (!cfg.boolean_or("scale_attn_weights", true)) detail::fail(kFn, where, ": config.json scale_attn_weights false is not supported");
  if (cfg.boolean_or("scale_attn_by_inverse_layer_idx", false))
    detail::fail(kFn, where, ": config.json scale_attn_by_inverse_layer_idx true is not supported");
  if (cfg.boolean_or("add_cross_attention", false)) detail::fail(kFn, where, ": config.json add_cross_attention true is not supported");
  if (c.heads < 1 || c.d_model % c.heads != 0)
    detail::fail(kFn, where, ": config.json n_head ", c.heads, " does not divide n_embd ", c.d_model);
  c.norm_eps = static_cast<float>(cfg.number_or("layer_norm_epsilon", 1e-5));
  c.kv_heads = c.heads;
  c.norm = NormKind::layernorm;
  c.position = PositionKind::learned;
  c.mlp = MlpKind::gelu;
  c.bias = true;
  const std::string prefix = src.find("transformer.wte.weight") ? "transformer." : "";
  c.tied_embeddings = cfg.boolean_or("tie_word_embeddings", true) || !src.find("lm_head.weight");
  check_config(c, src, prefix + "h.", "n_layer", where);
  bind_gpt2(a, prefix);
}

// Llama and the families of its shape: RMSNorm, RoPE (half-split), GQA, SwiGLU; Qwen2 adds q/k/v
// biases, Mistral a sliding window.
void llama_config(const ConfigReader& cfg, const std::string& type, const TensorSource& src, ModelArchitecture& a) {
  ModelConfig& c = a.config;
  const std::string& where = cfg.where();
  c.d_model = cfg.integer("hidden_size");
  c.d_ff = cfg.integer("intermediate_size");
  c.layers = cfg.integer("num_hidden_layers");
  c.heads = cfg.integer("num_attention_heads");
  c.kv_heads = cfg.integer_or("num_key_value_heads", c.heads);
  c.vocab = cfg.integer("vocab_size");
  c.context = cfg.integer_or("max_position_embeddings", type == "llama" ? 2048 : type == "mistral" ? 131072 : 32768);
  if (cfg.has("head_dim")) c.head_dim = cfg.integer("head_dim");
  else if (c.heads < 1 || c.d_model % c.heads != 0)
    detail::fail(kFn, where, ": config.json num_attention_heads ", c.heads, " does not divide hidden_size ", c.d_model, " (and there is no head_dim)");
  const std::string act = cfg.string_or("hidden_act", "silu");
  if (act != "silu") detail::fail(kFn, where, ": config.json hidden_act '", act, "' is not supported for ", type, " (silu)");
  if (cfg.has("partial_rotary_factor") && cfg.number("partial_rotary_factor") != 1.0)
    detail::fail(kFn, where, ": config.json partial_rotary_factor ", cfg.number("partial_rotary_factor"), " is not supported (1)");
  c.norm_eps = static_cast<float>(cfg.number_or("rms_norm_eps", 1e-6));
  c.rope_base = static_cast<float>(cfg.number_or("rope_theta", 10000.0));
  c.rope_scaling = rope_scaling(cfg);
  c.norm = NormKind::rmsnorm;
  c.position = PositionKind::rope;
  c.mlp = MlpKind::swiglu;
  c.bias = false;
  if (type == "llama") {
    c.qkv_bias = c.out_bias = cfg.boolean_or("attention_bias", false);
    c.mlp_bias = cfg.boolean_or("mlp_bias", false);
  } else if (type == "qwen2") {
    c.qkv_bias = true;  // Qwen2Attention: q, k, v with bias, o without
    if (cfg.boolean_or("use_sliding_window", false))
      detail::fail(kFn, where, ": config.json use_sliding_window true (per-layer windows from max_window_layers) is not supported");
  } else if (type == "mistral") {  // MistralConfig's default window is 4096 when the key is absent; null means none
    c.sliding_window = !cfg.present("sliding_window") ? 4096 : cfg.integer_or("sliding_window", 0);
  }
  c.tied_embeddings = cfg.boolean_or("tie_word_embeddings", false) || !src.find("lm_head.weight");
  check_config(c, src, "model.layers.", "num_hidden_layers", where);

  const I64 E = c.d_model, D = c.head_size(), H = c.heads, G = c.kv_heads, F = c.d_ff, V = c.vocab;
  const std::string hidden = "hidden_size " + str(E), inter = "intermediate_size " + str(F);
  const std::string q = str(H) + " heads of " + str(D) + " = " + str(H * D), kv = str(G) + " key/value heads of " + str(D) + " = " + str(G * D);
  auto& b = a.bindings;
  b["tok_emb"] = {"model.embed_tokens.weight", false, 0, 0, "vocab_size " + str(V) + " by " + hidden};
  for (I64 l = 0; l < c.layers; ++l) {
    const std::string h = "h." + str(l) + ".", m = "model.layers." + str(l) + ".";
    b[h + "ln1.w"] = {m + "input_layernorm.weight", false, 0, 0, hidden};
    b[h + "attn.wq"] = {m + "self_attn.q_proj.weight", true, 0, 0, q + " by " + hidden};
    b[h + "attn.bq"] = {m + "self_attn.q_proj.bias", false, 0, 0, q};
    b[h + "attn.wk"] = {m + "self_attn.k_proj.weight", true, 0, 0, kv + " by " + hidden};
    b[h + "attn.bk"] = {m + "self_attn.k_proj.bias", false, 0, 0, kv};
    b[h + "attn.wv"] = {m + "self_attn.v_proj.weight", true, 0, 0, kv + " by " + hidden};
    b[h + "attn.bv"] = {m + "self_attn.v_proj.bias", false, 0, 0, kv};
    b[h + "attn.wo"] = {m + "self_attn.o_proj.weight", true, 0, 0, hidden + " by " + q};
    b[h + "attn.bo"] = {m + "self_attn.o_proj.bias", false, 0, 0, hidden};
    b[h + "ln2.w"] = {m + "post_attention_layernorm.weight", false, 0, 0, hidden};
    b[h + "mlp.fc"] = {m + "mlp.gate_proj.weight", true, 0, 0, inter + " by " + hidden};
    b[h + "mlp.fc_b"] = {m + "mlp.gate_proj.bias", false, 0, 0, inter};
    b[h + "mlp.up"] = {m + "mlp.up_proj.weight", true, 0, 0, inter + " by " + hidden};
    b[h + "mlp.up_b"] = {m + "mlp.up_proj.bias", false, 0, 0, inter};
    b[h + "mlp.proj"] = {m + "mlp.down_proj.weight", true, 0, 0, hidden + " by " + inter};
    b[h + "mlp.proj_b"] = {m + "mlp.down_proj.bias", false, 0, 0, hidden};
  }
  b["ln_f.w"] = {"model.norm.weight", false, 0, 0, hidden};
  b["lm_head"] = {"lm_head.weight", false, 0, 0, "vocab_size " + str(V) + " by " + hidden};
  a.ignore_suffixes = {".rotary_emb.inv_freq"};  // a buffer older transformers versions saved
  if (c.tied_embeddings) a.ignore_suffixes.push_back("lm_head.weight");
}

}  // namespace

void bind_gpt2(ModelArchitecture& a, const std::string& P) {
  const ModelConfig& c = a.config;
  const I64 E = c.d_model, F = c.d_ff;
  const std::string e = "n_embd " + str(E);
  auto& b = a.bindings;
  b["tok_emb"] = {P + "wte.weight", false, 0, 0, "vocab_size " + str(c.vocab) + " by " + e};
  b["pos_emb"] = {P + "wpe.weight", false, 0, 0, "n_positions " + str(c.context) + " by " + e};
  for (I64 l = 0; l < c.layers; ++l) {
    const std::string h = "h." + str(l) + ".", m = P + "h." + str(l) + ".";
    const std::string fused = e + " (c_attn holds q, k, v side by side)";
    b[h + "ln1.w"] = {m + "ln_1.weight", false, 0, 0, e};
    b[h + "ln1.b"] = {m + "ln_1.bias", false, 0, 0, e};
    b[h + "attn.wq"] = {m + "attn.c_attn.weight", false, 0, 3 * E, fused};
    b[h + "attn.wk"] = {m + "attn.c_attn.weight", false, E, 3 * E, fused};
    b[h + "attn.wv"] = {m + "attn.c_attn.weight", false, 2 * E, 3 * E, fused};
    b[h + "attn.bq"] = {m + "attn.c_attn.bias", false, 0, 3 * E, fused};
    b[h + "attn.bk"] = {m + "attn.c_attn.bias", false, E, 3 * E, fused};
    b[h + "attn.bv"] = {m + "attn.c_attn.bias", false, 2 * E, 3 * E, fused};
    b[h + "attn.wo"] = {m + "attn.c_proj.weight", false, 0, 0, e};  // Conv1D: [in, out], attend's x·W already
    b[h + "attn.bo"] = {m + "attn.c_proj.bias", false, 0, 0, e};
    b[h + "ln2.w"] = {m + "ln_2.weight", false, 0, 0, e};
    b[h + "ln2.b"] = {m + "ln_2.bias", false, 0, 0, e};
    b[h + "mlp.fc"] = {m + "mlp.c_fc.weight", false, 0, 0, e + " by n_inner " + str(F)};
    b[h + "mlp.fc_b"] = {m + "mlp.c_fc.bias", false, 0, 0, "n_inner " + str(F)};
    b[h + "mlp.proj"] = {m + "mlp.c_proj.weight", false, 0, 0, "n_inner " + str(F) + " by " + e};
    b[h + "mlp.proj_b"] = {m + "mlp.c_proj.bias", false, 0, 0, e};
  }
  b["ln_f.w"] = {P + "ln_f.weight", false, 0, 0, e};
  b["ln_f.b"] = {P + "ln_f.bias", false, 0, 0, e};
  b["lm_head"] = {"lm_head.weight", false, 0, 0, "vocab_size " + str(c.vocab) + " by " + e};
  a.ignore_suffixes = {".attn.bias", ".attn.masked_bias"};  // the causal-mask buffers GPT-2 files carry
  if (c.tied_embeddings) a.ignore_suffixes.push_back("lm_head.weight");
}

namespace {

json parse_config(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    detail::fail(kFn, where, ": config.json is not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) detail::fail(kFn, where, ": config.json is not a JSON object");
  return j;
}

std::string model_type(const ConfigReader& cfg) {
  const std::string type = cfg.string_or("model_type", "");
  if (type.empty()) detail::fail(kFn, cfg.where(), ": config.json has no model_type (supported: ", kSupported, ")");
  if (type != "gpt2" && type != "llama" && type != "mistral" && type != "qwen2")
    detail::fail(kFn, cfg.where(), ": config.json model_type '", type, "' is not supported (supported: ", kSupported, ")");
  return type;
}

void check_model_type(const std::string& text, const std::string& where) {
  const json j = parse_config(text, where);
  (void)model_type(ConfigReader(j, where));
}

}  // namespace

ModelArchitecture hf_architecture(const std::string& text, const TensorSource& source, const std::string& where) {
  const json j = parse_config(text, where);
  const ConfigReader cfg(j, where);
  const std::string type = model_type(cfg);
  ModelArchitecture a;
  a.described_by = "config.json";
  if (type == "gpt2") gpt2_config(cfg, source, a);
  else llama_config(cfg, type, source, a);
  validate_config(a.config, "config.json");  // every range (e.g. n_layer 0) before a tensor is read
  return a;
}

Model load_hf_checkpoint(const std::string& dir, std::shared_ptr<const TensorSource> weights) {
  namespace fs = std::filesystem;
  const fs::path d(dir.empty() ? "." : dir);
  if (!fs::exists(d / "config.json")) detail::fail(kFn, dir, ": no config.json");
  const std::string text = read_file((d / "config.json").string());
  check_model_type(text, dir);  // before touching the weights: an unsupported architecture is named first
  std::shared_ptr<const TensorSource> source = std::move(weights);
  if (!source) {
    if (fs::exists(d / "model.safetensors")) source = map_safetensors((d / "model.safetensors").string());
    else if (fs::exists(d / "model.safetensors.index.json")) source = map_safetensors_index((d / "model.safetensors.index.json").string());
    else
      detail::fail(kFn, dir, ": no model.safetensors or model.safetensors.index.json beside config.json (other weight formats, ",
                   "e.g. pytorch_model.bin, are not read)");
  }
  const ModelArchitecture arch = hf_architecture(text, *source, dir);
  std::unique_ptr<Model::Impl> impl = build_model(arch, std::move(source), dir);
  impl->origin = dir;
  // The tokenizer beside the weights; a folder without tokenizer files keeps byte b as token b.
  impl->codec = folder_tokenizer_codec(d.string(), impl->config.vocab);
  if (!impl->codec) impl->codec = byte_codec(impl->config.vocab, true);
  return Model::from_impl(std::move(impl));
}

}  // namespace attend::nn
