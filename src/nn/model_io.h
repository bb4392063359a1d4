#pragma once
// Checkpoint helpers shared by Model::load/save and the trainer (which adds optimizer state).
#include <string>
#include <vector>

#include "attend/model.h"
#include "attend/safetensors.h"
#include "nn/model_impl.h"

namespace attend::nn {

std::string config_to_json(const ModelConfig& c);
ModelConfig config_from_json(const std::string& text, const std::string& path);
// One ref per parameter over `buffer` (params, or an optimizer moment of the same layout).
std::vector<SafeTensorRef> param_refs(const Model::Impl& impl, const std::vector<float>& buffer, const std::string& prefix);
// Reads every parameter named prefix + spec.name, checking shapes.
void read_params(const SafetensorsFile& f, const std::string& path, const Model::Impl& impl, std::vector<float>& buffer,
                 const std::string& prefix);
Model load_model_file(const SafetensorsFile& f, const std::string& path, const LoadOptions& options = {});
// "" when every value of `buffer` is finite, else "parameter '<prefix><name>' holds nan at index i".
std::string first_nonfinite(const Model::Impl& impl, const std::vector<float>& buffer, const std::string& prefix);

}  // namespace attend::nn
