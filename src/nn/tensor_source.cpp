// Tensor sources over safetensors: memory-mapped files (one, or the shards of a Hugging Face index)
// and an already parsed in-memory file.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attend/io.h"
#include "core/check.h"
#include "io/mapped_file.h"
#include "nn/model_build.h"

namespace attend::nn {
namespace {

constexpr const char* kWhere = "Model::load";

SourceTensor describe(const std::string& dtype_name, const std::vector<std::int64_t>& shape, const void* data) {
  SourceTensor t;
  t.dtype_name = dtype_name;
  t.shape = shape;
  t.data = data;
  t.supported = true;
  if (dtype_name == "F32") t.dtype = DType::f32;
  else if (dtype_name == "BF16") t.dtype = DType::bf16;
  else if (dtype_name == "F16") t.dtype = DType::f16;
  else t.supported = false;
  return t;
}

class MappedSafetensors final : public TensorMapSource {
 public:
  // Maps `path` and adds its tensors (all of them, or only `only` when given) under their names.
  void add_file(const std::string& path, const std::vector<std::string>* only = nullptr) {
    files_.push_back(std::make_unique<io::MappedFile>(path));
    const std::string_view bytes = files_.back()->bytes();
    SafetensorsHeader h = parse_safetensors_header(bytes, path);
    const char* data = bytes.data() + h.data_offset;
    auto add = [&](const std::string& name, const SafeTensorEntry& e) {
      if (tensors_.count(name)) detail::fail(kWhere, path, ": tensor '", name, "' appears in two files");
      tensors_[name] = describe(e.dtype, e.shape, data + e.begin);
    };
    if (!only) {
      for (const auto& [name, e] : h.tensors) add(name, e);
      if (metadata_.empty()) metadata_ = std::move(h.metadata);
      return;
    }
    for (const std::string& name : *only) {
      auto it = h.tensors.find(name);
      if (it == h.tensors.end())
        detail::fail(kWhere, path, ": the shard index maps tensor '", name, "' to this file, which does not hold it");
      add(name, it->second);
    }
  }
  void set_metadata(std::map<std::string, std::string> m) { metadata_ = std::move(m); }

  const std::map<std::string, std::string>& metadata() const override { return metadata_; }

 private:
  std::vector<std::unique_ptr<io::MappedFile>> files_;
  std::map<std::string, std::string> metadata_;
};

class ParsedSafetensors final : public TensorMapSource {
 public:
  explicit ParsedSafetensors(std::shared_ptr<const SafetensorsFile> f) : file_(std::move(f)) {
    for (const auto& [name, t] : file_->tensors) tensors_[name] = describe("F32", t.shape, t.values.data());  // values are f32
  }
  const std::map<std::string, std::string>& metadata() const override { return file_->metadata; }

 private:
  std::shared_ptr<const SafetensorsFile> file_;
};

}  // namespace

const SourceTensor* TensorMapSource::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> TensorMapSource::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

std::shared_ptr<const TensorSource> map_safetensors(const std::string& path) {
  auto src = std::make_shared<MappedSafetensors>();
  src->add_file(path);
  return src;
}

// index: {"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}
std::shared_ptr<const TensorSource> map_safetensors_index(const std::string& index_path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    detail::fail(kWhere, index_path, ": not valid JSON (", e.what(), ")");
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object() || j["weight_map"].empty())
    detail::fail(kWhere, index_path, ": no \"weight_map\" object of tensor -> shard file");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) detail::fail(kWhere, index_path, ": weight_map entry '", it.key(), "' is not a file name");
    const std::string shard = it.value().get<std::string>();
    // Shards live in the index's own folder: a path (or "..") could read any file on the machine.
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos || shard == "." || shard == "..")
      detail::fail(kWhere, index_path, ": shard '", shard, "' of tensor '", it.key(), "' is not a plain file name in the same folder");
    by_shard[shard].push_back(it.key());
  }
  const std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  auto src = std::make_shared<MappedSafetensors>();
  for (const auto& [shard, names] : by_shard) src->add_file((dir / shard).string(), &names);
  std::map<std::string, std::string> meta;
  if (j.contains("metadata") && j["metadata"].is_object())
    for (auto it = j["metadata"].begin(); it != j["metadata"].end(); ++it)
      meta[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  src->set_metadata(std::move(meta));
  return src;
}

std::shared_ptr<const TensorSource> safetensors_source(std::shared_ptr<const SafetensorsFile> file) {
  return std::make_shared<ParsedSafetensors>(std::move(file));
}

}  // namespace attend::nn
