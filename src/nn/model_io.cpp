// Model checkpoints: attend's own safetensors layout (config in the metadata) and the Hugging Face
// GPT-2 layout (wte, wpe, h.{i}.ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, ln_f;
// Conv1D weights are stored [in, out], which is already attend's x·W convention).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "attend/safetensors.h"
#include "core/check.h"
#include "io/json_limits.h"
#include "nn/model_impl.h"
#include "nn/model_io.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
constexpr const char* kWhere = "Model::load";

std::string shape_str(const std::vector<I64>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

const SafeTensor& need(const SafetensorsFile& f, const std::string& path, const std::string& name,
                       const std::vector<I64>& shape) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) detail::fail(kWhere, path, ": missing tensor '", name, "'");
  if (it->second.shape != shape)
    detail::fail(kWhere, path, ": tensor '", name, "' has shape ", shape_str(it->second.shape), ", expected ", shape_str(shape));
  return it->second;
}

// A hostile header can declare a configuration of terabytes: the parameters must be present in the
// file (every one is read from it), so compare the counts before allocating anything.
void check_file_holds(const SafetensorsFile& f, const std::string& path, const ModelConfig& c) {
  validate_config(c, kWhere);
  const I64 need_n = Model::Impl(c, false).param_count;
  std::uint64_t have = 0;
  for (const auto& [name, t] : f.tensors) have += t.values.size();
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

std::int64_t count_layers(const SafetensorsFile& f, const std::string& prefix) {
  I64 n = 0;
  while (f.tensors.count(prefix + "h." + std::to_string(n) + ".ln_1.weight")) ++n;
  return n;
}

// GPT-2 layout -> attend layout (fused c_attn split into q, k, v columns).
std::unique_ptr<Model::Impl> load_gpt2(const SafetensorsFile& f, const std::string& path) {
  const std::string pre = f.tensors.count("transformer.wte.weight") ? "transformer." : "";
  auto shape_of = [&](const std::string& n) -> const std::vector<I64>& {
    auto it = f.tensors.find(pre + n);
    if (it == f.tensors.end()) detail::fail(kWhere, path, ": missing tensor '", pre + n, "'");
    if (it->second.shape.size() != 2 && n != "ln_f.weight") detail::fail(kWhere, path, ": tensor '", pre + n, "' is not a matrix");
    return it->second.shape;
  };
  ModelConfig c;
  c.vocab = shape_of("wte.weight")[0];
  c.d_model = shape_of("wte.weight")[1];
  c.context = shape_of("wpe.weight")[0];
  c.layers = count_layers(f, pre);
  if (c.layers < 1) detail::fail(kWhere, path, ": GPT-2 layout without h.0.ln_1.weight");
  c.d_ff = shape_of("h.0.mlp.c_fc.weight").size() == 2 ? shape_of("h.0.mlp.c_fc.weight")[1] : 0;
  auto meta = f.metadata.find("n_head");
  c.heads = meta != f.metadata.end() ? parse_heads(meta->second, path) : (c.d_model % 64 == 0 ? c.d_model / 64 : 1);
  c.kv_heads = c.heads;
  c.norm = NormKind::layernorm;
  c.position = PositionKind::learned;
  c.mlp = MlpKind::gelu;
  c.tied_embeddings = true;
  c.bias = true;
  check_file_holds(f, path, c);
  auto impl = std::make_unique<Model::Impl>(c);
  const I64 E = c.d_model, F = c.d_ff;
  auto put = [&](I64 off, const std::string& name, const std::vector<I64>& shape) {
    const SafeTensor& t = need(f, path, pre + name, shape);
    std::memcpy(impl->params.data() + off, t.values.data(), t.values.size() * sizeof(float));
  };
  put(impl->wte, "wte.weight", {c.vocab, E});
  put(impl->wpe, "wpe.weight", {c.context, E});
  for (I64 l = 0; l < c.layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    const LayerParams& lp = impl->layer[static_cast<std::size_t>(l)];
    put(lp.ln1_w, h + "ln_1.weight", {E});
    put(lp.ln1_b, h + "ln_1.bias", {E});
    const SafeTensor& w = need(f, path, pre + h + "attn.c_attn.weight", {E, 3 * E});
    const SafeTensor& b = need(f, path, pre + h + "attn.c_attn.bias", {3 * E});
    float* P = impl->params.data();
    for (I64 i = 0; i < E; ++i)
      for (I64 j = 0; j < E; ++j) {
        P[lp.wq + i * E + j] = w.values[static_cast<std::size_t>(i * 3 * E + j)];
        P[lp.wk + i * E + j] = w.values[static_cast<std::size_t>(i * 3 * E + E + j)];
        P[lp.wv + i * E + j] = w.values[static_cast<std::size_t>(i * 3 * E + 2 * E + j)];
      }
    for (I64 j = 0; j < E; ++j) {
      P[lp.bq + j] = b.values[static_cast<std::size_t>(j)];
      P[lp.bk + j] = b.values[static_cast<std::size_t>(E + j)];
      P[lp.bv + j] = b.values[static_cast<std::size_t>(2 * E + j)];
    }
    put(lp.wo, h + "attn.c_proj.weight", {E, E});
    put(lp.bo, h + "attn.c_proj.bias", {E});
    put(lp.ln2_w, h + "ln_2.weight", {E});
    put(lp.ln2_b, h + "ln_2.bias", {E});
    put(lp.fc_w, h + "mlp.c_fc.weight", {E, F});
    put(lp.fc_b, h + "mlp.c_fc.bias", {F});
    put(lp.proj_w, h + "mlp.c_proj.weight", {F, E});
    put(lp.proj_b, h + "mlp.c_proj.bias", {E});
  }
  put(impl->lnf_w, "ln_f.weight", {E});
  put(impl->lnf_b, "ln_f.bias", {E});
  return impl;
}

// A diverged run's weights (NaN, ±inf) would make every later forward silent garbage.
void check_finite(const SafetensorsFile& f, const std::string& path) {
  for (const auto& [name, t] : f.tensors)
    for (std::size_t i = 0; i < t.values.size(); ++i)
      if (!std::isfinite(t.values[i]))
        detail::fail(kWhere, path, ": tensor '", name, "' holds ", t.values[i], " at index ", i,
                     " (a diverged training run?); LoadOptions::allow_nonfinite (--allow-nonfinite) loads it anyway");
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
  nlohmann::json j = {{"vocab", c.vocab}, {"context", c.context}, {"d_model", c.d_model}, {"layers", c.layers},
                      {"heads", c.heads}, {"kv_heads", c.kv_heads}, {"d_ff", c.d_ff},
                      {"norm", c.norm == NormKind::layernorm ? "layernorm" : "rmsnorm"},
                      {"position", c.position == PositionKind::learned ? "learned" : "rope"},
                      {"mlp", c.mlp == MlpKind::gelu ? "gelu" : "swiglu"}, {"tied_embeddings", c.tied_embeddings},
                      {"rope_base", c.rope_base}, {"norm_eps", c.norm_eps}, {"bias", c.bias}};
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
    auto float_of = [&](const char* key) -> float {
      const nlohmann::json& v = j.at(key);
      const double d = v.is_number() ? v.get<double>() : -1.0;
      if (!v.is_number() || !(std::fabs(d) <= 3.0e38)) detail::fail(kWhere, path, ": attend_config '", key, "' is not a finite number");
      return static_cast<float>(d);
    };
    c.rope_base = float_of("rope_base");
    c.norm_eps = float_of("norm_eps");
    c.bias = j.at("bias").get<bool>();
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
  buffer.assign(impl.params.size(), 0.0f);
  for (const ParamSpec& s : impl.specs) {
    const SafeTensor& t = need(f, path, prefix + s.name, s.shape);
    std::memcpy(buffer.data() + s.offset, t.values.data(), t.values.size() * sizeof(float));
  }
}

Model load_model_file(const SafetensorsFile& f, const std::string& path, const LoadOptions& options) {
  if (!options.allow_nonfinite) check_finite(f, path);
  if (f.tensors.count("wte.weight") || f.tensors.count("transformer.wte.weight")) return Model::from_impl(load_gpt2(f, path));
  auto meta = f.metadata.find("attend_config");
  if (meta == f.metadata.end()) detail::fail(kWhere, path, ": neither attend layout (attend_config metadata) nor GPT-2 layout (wte.weight)");
  const ModelConfig c = config_from_json(meta->second, path);
  check_file_holds(f, path, c);
  auto impl = std::make_unique<Model::Impl>(c);
  read_params(f, path, *impl, impl->params, "");
  std::size_t expected = impl->specs.size();
  for (const auto& [name, t] : f.tensors)
    if (!name.starts_with("opt.")) --expected;
  if (expected != 0) detail::fail(kWhere, path, ": unexpected extra tensors for this configuration");
  return Model::from_impl(std::move(impl));
}

Model Model::load(const std::string& path, const LoadOptions& options) {
  return load_model_file(read_safetensors(path), path, options);
}

void Model::save(const std::string& path) const {
  if (const std::string bad = first_nonfinite(*impl_, impl_->params, ""); !bad.empty())
    detail::fail("Model::save", "refusing to write a non-finite model to ", path, ": ", bad, " (", path, " was left as it was)");
  write_safetensors(path, param_refs(*impl_, impl_->params, ""), {{"attend_config", config_to_json(impl_->config)}});
}

}  // namespace attend::nn
