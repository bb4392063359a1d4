#pragma once
// Shared pieces of the model subcommands (train, generate, eval, demo).
#include <CLI/CLI.hpp>

#include <string>

#include "attend/model.h"
#include "attend/train.h"

namespace attend::cli {

struct ModelArgs {
  std::int64_t vocab = 0;  // 0: 256 for text, 16 for the synthetic tasks
  std::int64_t layers = 2, d_model = 64, heads = 4, kv_heads = 0, d_ff = 0;
  std::string norm = "layernorm", position = "learned", mlp = "gelu";
  bool untied = false, no_bias = false;
};

void add_model_options(CLI::App& sub, ModelArgs& a);
nn::ModelConfig model_config(const ModelArgs& a, nn::Task task, std::int64_t seq_len);

// `attend demo`'s model part: trains a small model on the induction task, reports held-out
// accuracy, shows it completing a repeated sequence, saves attend-demo/induction.safetensors.
int run_model_demo(int threads);

}  // namespace attend::cli
