// Model checkpoints: Model::load's dispatch (Hugging Face folder, attend's own layout, the legacy
// GPT-2 file), attend's layout (config in the safetensors metadata) and Model::save.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attend/safetensors.h"
#include "core/check.h"
#include "core/memory.h"
#include "io/json_limits.h"
#include "nn/gguf_model.h"
#include "nn/hf_model.h"
#include "nn/model_build.h"
#include "nn/model_impl.h"
#include "nn/model_io.h"
#include "nn/weight.h"
#include "nn/token_codec.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
constexpr const char* kWhere = "Model::load";

// A hostile header can declare a configuration of terabytes: the parameters must be present in the
// file (every one is read from it), so compare the counts before building anything.
void check_file_holds(const TensorSource& src, const std::string& path, const ModelConfig& c) {
  validate_config(c, kWhere);
  const I64 need_n = Model::Impl(c, false).param_count;
  std::uint64_t have = 0;
  for (const std::string& name : src.names()) {
    std::uint64_t n = 1;
    for (I64 s : src.find(name)->shape) n *= static_cast<std::uint64_t>(s);
    have += n;
  }
  if (static_cast<std::uint64_t>(need_n) > have)
    detail::fail(kWhere, path, ": the configuration needs ", need_n, " parameters but the file holds only ", have, " values");
}

// n_head metadata: a decimal integer, nothing else.
I64 parse_heads(const std::string& text, const std::string& path) {
  I64 v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 1)
    detail::fail(kWhere, path, ": metadata n_head '", text, "' is not a positive integer");
  return v;
}

// attend's layout: every parameter under its own name, f32, [I, O] linears; optimizer moments
// (opt.*) of a training checkpoint are not part of the model.
Model load_attend(std::shared_ptr<const TensorSource> src, const std::string& path, const std::string& config_json) {
  ModelArchitecture a;
  a.config = config_from_json(config_json, path);
  a.described_by = "attend_config";
  check_file_holds(*src, path, a.config);
  for (const ParamSpec& s : Model::Impl(a.config, false).specs) a.bindings[s.name] = {s.name, false, 0, 0, ""};
  a.ignore_prefixes = {"opt."};
  return Model::from_impl(build_model(a, std::move(src), path));
}

// A lone GPT-2 (Hugging Face layout) safetensors file: the shapes come from the tensors, the head
// count, which no tensor shows, from n_head metadata (a Hugging Face folder has config.json instead).
Model load_gpt2_file(std::shared_ptr<const TensorSource> src, const std::string& path) {
  const std::string pre = src->find("transformer.wte.weight") ? "transformer." : "";
  auto matrix = [&](const std::string& n) -> const std::vector<I64>& {
    const SourceTensor* t = src->find(pre + n);
    if (!t) detail::fail(kWhere, path, ": missing tensor '", pre + n, "'");
    if (t->shape.size() != 2) detail::fail(kWhere, path, ": tensor '", pre + n, "' is ", shape_string(t->shape), ", not a matrix");
    return t->shape;
  };
  auto meta = src->metadata().find("n_head");
  if (meta == src->metadata().end())
    detail::fail(kWhere, path, ": a GPT-2 layout file does not show its head count: put its config.json (n_head) beside it, ",
                 "or n_head metadata in the file");
  ModelArchitecture a;
  ModelConfig& c = a.config;
  c.heads = parse_heads(meta->second, path);
  c.vocab = matrix("wte.weight")[0];
  c.d_model = matrix("wte.weight")[1];
  c.context = matrix("wpe.weight")[0];
  c.layers = 0;
  while (c.layers < 257 && src->find(pre + "h." + std::to_string(c.layers) + ".ln_1.weight")) ++c.layers;
  if (c.layers < 1) detail::fail(kWhere, path, ": GPT-2 layout without h.0.ln_1.weight");
  c.d_ff = matrix("h.0.mlp.c_fc.weight")[1];
  c.kv_heads = c.heads;
  c.norm = NormKind::layernorm;
  c.position = PositionKind::learned;
  c.mlp = MlpKind::gelu;
  c.tied_embeddings = !src->find("lm_head.weight");
  c.bias = true;
  validate_config(c, kWhere);
  a.described_by = "the GPT-2 layout (n_head " + std::to_string(c.heads) + " metadata)";
  bind_gpt2(a, pre);
  return Model::from_impl(build_model(a, std::move(src), path));
}

// A safetensors file's content decides: attend_config metadata, a config.json beside it (Hugging
// Face), or the GPT-2 layout. config_dir: where to look for config.json ("" = nowhere).
Model load_from_source(std::shared_ptr<const TensorSource> src, const std::string& path, const std::string& config_dir) {
  auto meta = src->metadata().find("attend_config");
  if (meta != src->metadata().end()) return load_attend(src, path, meta->second);
  if (!config_dir.empty() && std::filesystem::exists(std::filesystem::path(config_dir) / "config.json"))
    return load_hf_checkpoint(config_dir, std::move(src));
  if (src->find("wte.weight") || src->find("transformer.wte.weight")) {
    Model m = load_gpt2_file(std::move(src), path);
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (auto codec = folder_tokenizer_codec(parent.empty() ? "." : parent.string(), m.config().vocab)) m.impl().codec = std::move(codec);
    return m;
  }
  detail::fail(kWhere, path, ": neither attend layout (attend_config metadata) nor GPT-2 layout (wte.weight), ",
               "and no config.json beside it");
}

// A diverged run's weights (NaN, ±inf) would make every later forward silent garbage. A loaded
// model's weights are read a stored row at a time (no f32 copy of a whole matrix: a 1B model's
// embedding table alone would be 1 GB).
void check_finite(const Model& m, const std::string& path) {
  const Model::Impl& impl = m.impl();
  auto refuse = [&](const std::string& name, float v, const std::string& at) {
    detail::fail(kWhere, path, ": tensor '", name, "' holds ", v, " at ", at,
                 " (a diverged training run?); LoadOptions::allow_nonfinite (--allow-nonfinite) loads it anyway");
  };
  if (impl.trainable()) {
    for (const ParamSpec& s : impl.specs)
      for (I64 i = 0; i < s.size; ++i)
        if (const float v = impl.params[static_cast<std::size_t>(s.offset + i)]; !std::isfinite(v))
          refuse(s.name, v, "index " + std::to_string(i));
    return;
  }
  std::vector<float> row;
  for (std::size_t k = 0; k < impl.specs.size(); ++k) {
    const WeightView& w = impl.stored[k];
    row.resize(static_cast<std::size_t>(w.cols));
    for (I64 r = 0; r < w.rows; ++r) {
      weight_row(w, r, row.data());
      for (I64 c = 0; c < w.cols; ++c)
        if (!std::isfinite(row[static_cast<std::size_t>(c)]))
          refuse(impl.specs[k].name, row[static_cast<std::size_t>(c)], "stored row " + std::to_string(r) + ", column " + std::to_string(c));
    }
  }
}

Model checked(Model m, const std::string& path, const LoadOptions& options) {
  if (!options.allow_nonfinite) check_finite(m, path);
  m.impl().bf16_activations = options.bf16_activations;
  return m;
}

}  // namespace

std::string first_nonfinite(const Model::Impl& impl, const std::vector<float>& buffer, const std::string& prefix) {
  for (const ParamSpec& s : impl.specs)
    for (I64 i = 0; i < s.size; ++i)
      if (const float v = buffer[static_cast<std::size_t>(s.offset + i)]; !std::isfinite(v))
        return detail::concat("parameter '", prefix, s.name, "' holds ", v, " at index ", i);
  return {};
}

std::string config_to_json(const ModelConfig& c) {
  const RopeScaling& rs = c.rope_scaling;
  const char* scaling = rs.kind == RopeScalingKind::none ? "none" : rs.kind == RopeScalingKind::linear ? "linear" : "llama3";
  nlohmann::json j = {{"vocab", c.vocab}, {"context", c.context}, {"d_model", c.d_model}, {"layers", c.layers},
                      {"heads", c.heads}, {"kv_heads", c.kv_heads}, {"d_ff", c.d_ff},
                      {"norm", c.norm == NormKind::layernorm ? "layernorm" : "rmsnorm"},
                      {"position", c.position == PositionKind::learned ? "learned" : "rope"},
                      {"mlp", c.mlp == MlpKind::gelu ? "gelu" : "swiglu"}, {"tied_embeddings", c.tied_embeddings},
                      {"rope_base", c.rope_base}, {"norm_eps", c.norm_eps}, {"bias", c.bias},
                      {"qkv_bias", c.qkv_bias}, {"out_bias", c.out_bias}, {"mlp_bias", c.mlp_bias}, {"head_dim", c.head_dim},
                      {"rope_scaling", scaling}, {"rope_factor", rs.factor}, {"rope_low_freq_factor", rs.low_freq_factor},
                      {"rope_high_freq_factor", rs.high_freq_factor}, {"rope_original_context", rs.original_context},
                      {"sliding_window", c.sliding_window}};
  return j.dump();
}

ModelConfig config_from_json(const std::string& text, const std::string& path) {
  ModelConfig c;
  try {
    const nlohmann::json j = io::parse_json_bounded(text, 1, kWhere, path, "attend_config metadata");
    // Integers must be JSON integers (a float like 1e30 would be converted with undefined behaviour).
    auto int_of = [&](const char* key) -> I64 {
      const nlohmann::json& v = j.at(key);
      if (!v.is_number_integer()) detail::fail(kWhere, path, ": attend_config '", key, "' is not an integer");
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        detail::fail(kWhere, path, ": attend_config '", key, "' is too large");
      return v.get<I64>();
    };
    auto float_of = [&](const char* key) -> float {
      const nlohmann::json& v = j.at(key);
      const double d = v.is_number() ? v.get<double>() : -1.0;
      if (!v.is_number() || !(std::fabs(d) <= 3.0e38)) detail::fail(kWhere, path, ": attend_config '", key, "' is not a finite number");
      return static_cast<float>(d);
    };
    c.vocab = int_of("vocab");
    c.context = int_of("context");
    c.d_model = int_of("d_model");
    c.layers = int_of("layers");
    c.heads = int_of("heads");
    c.kv_heads = int_of("kv_heads");
    c.d_ff = int_of("d_ff");
    const std::string norm = j.at("norm"), pos = j.at("position"), mlp = j.at("mlp");
    if (norm != "layernorm" && norm != "rmsnorm") detail::fail(kWhere, path, ": unknown norm '", norm, "'");
    if (pos != "learned" && pos != "rope") detail::fail(kWhere, path, ": unknown position '", pos, "'");
    if (mlp != "gelu" && mlp != "swiglu") detail::fail(kWhere, path, ": unknown mlp '", mlp, "'");
    c.norm = norm == "layernorm" ? NormKind::layernorm : NormKind::rmsnorm;
    c.position = pos == "learned" ? PositionKind::learned : PositionKind::rope;
    c.mlp = mlp == "gelu" ? MlpKind::gelu : MlpKind::swiglu;
    c.tied_embeddings = j.at("tied_embeddings").get<bool>();
    c.rope_base = float_of("rope_base");
    c.norm_eps = float_of("norm_eps");
    c.bias = j.at("bias").get<bool>();
    // Keys added with the Hugging Face loaders; older checkpoints lack them (the defaults then hold).
    if (j.contains("qkv_bias")) c.qkv_bias = j.at("qkv_bias").get<bool>();
    if (j.contains("out_bias")) c.out_bias = j.at("out_bias").get<bool>();
    if (j.contains("mlp_bias")) c.mlp_bias = j.at("mlp_bias").get<bool>();
    if (j.contains("head_dim")) c.head_dim = int_of("head_dim");
    if (j.contains("sliding_window")) c.sliding_window = int_of("sliding_window");
    if (j.contains("rope_scaling")) {
      const std::string s = j.at("rope_scaling");
      if (s != "none" && s != "linear" && s != "llama3") detail::fail(kWhere, path, ": unknown rope_scaling '", s, "'");
      RopeScaling& rs = c.rope_scaling;
      rs.kind = s == "none" ? RopeScalingKind::none : s == "linear" ? RopeScalingKind::linear : RopeScalingKind::llama3;
      if (j.contains("rope_factor")) rs.factor = float_of("rope_factor");
      if (j.contains("rope_low_freq_factor")) rs.low_freq_factor = float_of("rope_low_freq_factor");
      if (j.contains("rope_high_freq_factor")) rs.high_freq_factor = float_of("rope_high_freq_factor");
      if (j.contains("rope_original_context")) rs.original_context = int_of("rope_original_context");
    }
  } catch (const nlohmann::json::exception& e) {
    detail::fail(kWhere, path, ": bad attend_config metadata (", e.what(), ")");
  }
  validate_config(c, kWhere);
  return c;
}

std::vector<SafeTensorRef> param_refs(const Model::Impl& impl, const std::vector<float>& buffer, const std::string& prefix) {
  std::vector<SafeTensorRef> refs;
  for (const ParamSpec& s : impl.specs) refs.push_back({prefix + s.name, s.shape, buffer.data() + s.offset});
  return refs;
}

void read_params(const SafetensorsFile& f, const std::string& path, const Model::Impl& impl, std::vector<float>& buffer,
                 const std::string& prefix) {
  buffer.assign(static_cast<std::size_t>(impl.param_count), 0.0f);
  for (const ParamSpec& s : impl.specs) {
    auto it = f.tensors.find(prefix + s.name);
    if (it == f.tensors.end()) detail::fail(kWhere, path, ": missing tensor '", prefix + s.name, "'");
    if (it->second.shape != s.shape)
      detail::fail(kWhere, path, ": tensor '", prefix + s.name, "' has shape ", shape_string(it->second.shape), ", expected ",
                   shape_string(s.shape));
    std::memcpy(buffer.data() + s.offset, it->second.values.data(), it->second.values.size() * sizeof(float));
  }
}

Model load_model_file(const SafetensorsFile& f, const std::string& path, const LoadOptions& options) {
  return checked(load_from_source(safetensors_source(std::make_shared<const SafetensorsFile>(f)), path, ""), path, options);
}

namespace {
Model load_unchecked(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) detail::fail(kWhere, "'", path, "': no such file or folder");
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "config.json", ec)) return load_hf_checkpoint(path);
    detail::fail(kWhere, path, ": a directory without config.json (a Hugging Face checkpoint folder holds config.json and ",
                 "model.safetensors)");
  }
  const std::string name = p.filename().string();
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (name == "config.json" || name.ends_with(".safetensors.index.json")) return load_hf_checkpoint(dir);
  // GGUF (llama.cpp): recognised by its magic, whatever the file is called.
  if (name.ends_with(".gguf") || is_gguf_file(path)) return load_gguf(path);
  // A Hugging Face weights file (model.safetensors, or a shard model-0000k-of-0000n.safetensors)
  // takes its architecture from the config.json beside it; any other name is a self-describing file.
  const bool hf_name = name == "model.safetensors" || (name.starts_with("model-") && name.ends_with(".safetensors"));
  if (hf_name && name != "model.safetensors" && fs::exists(p.parent_path() / "model.safetensors.index.json", ec) &&
      fs::exists(p.parent_path() / "config.json", ec))
    return load_hf_checkpoint(dir);  // one shard: the whole sharded checkpoint
  return load_from_source(map_safetensors(path), path, hf_name ? dir : "");
}
}  // namespace

Model Model::load(const std::string& path, const LoadOptions& options) {
  return checked(load_unchecked(path), path, options);
}

void Model::save(const std::string& path) const {
  if (impl_->rope_factors)
    detail::fail("Model::save", path, ": this model's RoPE frequencies come from a GGUF rope_freqs tensor, which attend's ",
                 "configuration cannot express; save would write a different model");
  const std::map<std::string, std::string> meta = {{"attend_config", config_to_json(impl_->config)}};
  auto write = [&](const std::vector<float>& buffer) {
    if (const std::string bad = first_nonfinite(*impl_, buffer, ""); !bad.empty())
      detail::fail("Model::save", "refusing to write a non-finite model to ", path, ": ", bad, " (", path, " was left as it was)");
    write_safetensors(path, param_refs(*impl_, buffer, ""), meta);
  };
  if (impl_->trainable()) return write(impl_->params);
  // A loaded model: every parameter as f32 in attend's layout (a transposed copy of nn.Linear weights).
  core::check_allocation("Model::save", static_cast<std::uint64_t>(impl_->param_count) * sizeof(float));
  std::vector<float> all(static_cast<std::size_t>(impl_->param_count));
  for (const ParamSpec& s : impl_->specs) {
    const std::vector<float> v = impl_->materialize(s);
    std::copy(v.begin(), v.end(), all.begin() + s.offset);
  }
  write(all);
}

}  // namespace attend::nn
