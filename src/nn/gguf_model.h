#pragma once
// GGUF files (llama.cpp): the metadata decides the architecture (general.architecture llama —
// which covers Llama 2/3, Mistral, TinyLlama, SmolLM — and qwen2), the tensors are bound to attend's
// parameters by llama.cpp's names and stay where the file maps them (F32, F16, BF16 and the Q8_0,
// Q4_0, Q4_K, Q6_K blocks), and the tokenizer comes from the tokenizer.ggml.* keys. Llama 3's RoPE
// scaling arrives as llama.cpp's rope_freqs tensor and divides the model's inverse frequencies.
#include <string>

#include "attend/model.h"

namespace attend::nn {

Model load_gguf(const std::string& path);

// Whether `path` starts with the GGUF magic ("GGUF").
bool is_gguf_file(const std::string& path);

}  // namespace attend::nn
