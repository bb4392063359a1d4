#pragma once
// GGUF files with random weights for the runtime benchmarks against llama.cpp and torch (issue 24):
// llama.cpp's llama architecture at a benchmark shape (bench/runtime_counts.h), every product's
// weights in one format, and a SentencePiece-style vocabulary llama.cpp accepts (the benchmarks
// feed token ids, so its pieces are fillers).
#include <cstdint>
#include <string>

#include "attend/quant.h"
#include "bench/runtime_counts.h"

namespace attend::bench {

GgmlType weight_format_type(const std::string& format);  // f32 | f16 | bf16 | q8_0; throws attend::Error otherwise
RuntimeShape shape_named(const std::string& name, const char* where);  // runtime_shape, throwing attend::Error

// Writes `path` atomically. The weights are N(0, 0.02²) values drawn once into a pool of the
// largest tensor's size plus 4 Mi values, converted once to `type`; each tensor is a span of that
// pool at its own offset, so the writer streams the file from the pool and memory holds one pool
// (~0.3 GB for llama-1b), never the model. Norm weights are 1 (f32). context: llama.context_length.
void write_runtime_gguf(const RuntimeShape& shape, GgmlType type, const std::string& path, std::uint64_t seed = 1);

}  // namespace attend::bench
