#pragma once
// What a model hands the observatory during a traced forward pass: the contract between src/nn
// (which produces it) and src/observe (which consumes it). Pointers are valid only during the
// on_layer call; a sink copies what it keeps.
#include <cstdint>

#include "attend/capture.h"

namespace attend {

// Shape letters: N tokens, E model width (d_model), H query heads, G key/value heads, D head size.
struct LayerTrace {
  int layer = 0;
  std::int64_t tokens = 0, d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
  const float* resid_pre = nullptr;   // [N, E] residual stream entering the block
  const float* resid_mid = nullptr;   // [N, E] after the attention update was added
  const float* resid_post = nullptr;  // [N, E] after the MLP update was added (leaving the block)
  const float* q = nullptr;           // [N, H, D] after RoPE where the model uses it
  const float* k = nullptr;           // [N, G, D]
  const float* v = nullptr;           // [N, G, D]
  const float* head_out = nullptr;    // [N, H, D] each head's attention output, before W_O
};

class ModelTraceSink {
 public:
  virtual ~ModelTraceSink() = default;
  // The capture sink the model passes to layer `layer`'s attention kernel (nullptr: none).
  // Called from the thread running the forward pass, once per layer, before that layer runs.
  virtual CaptureSink* attention_sink(int layer) { (void)layer; return nullptr; }
  // Called after each block, from the thread running the forward pass.
  virtual void on_layer(const LayerTrace& trace) { (void)trace; }
};

}  // namespace attend
