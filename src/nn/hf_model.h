#pragma once
// Hugging Face checkpoints: config.json decides the architecture (model_type gpt2, llama, mistral,
// qwen2, and whatever shares their shape, e.g. SmolLM2 and TinyLlama are llama), the safetensors
// tensors are bound to attend's parameters by their transformers names.
#include <string>

#include "nn/model_build.h"

namespace attend::nn {

// config.json's text -> the architecture, its tensors named as transformers names them in `source`
// (which also settles what config.json leaves open: a tied head when lm_head.weight is absent, the
// "transformer." prefix of GPT-2 files). Unsupported features are refused by name.
ModelArchitecture hf_architecture(const std::string& config_text, const TensorSource& source, const std::string& where);

// The GPT-2 layout's bindings (wte, wpe, h.{l}.attn.c_attn split into q/k/v columns, ...), shared by
// the config.json path and the legacy file that carries only n_head metadata.
void bind_gpt2(ModelArchitecture& arch, const std::string& prefix);

// A folder with config.json and model.safetensors (or model.safetensors.index.json and its
// shards); `weights`, when given, is the tensor source to use instead of the folder's own files.
Model load_hf_checkpoint(const std::string& dir, std::shared_ptr<const TensorSource> weights = nullptr);

}  // namespace attend::nn
