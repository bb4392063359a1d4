#pragma once
// What a model hands the observatory during a traced forward pass, and the hooks through which a
// caller may change that pass: the contract between src/nn (which runs it) and src/observe and
// src/lab (which read and intervene). Pointers and spans are valid only during the call; a sink or
// hook copies what it keeps.
#include <cstdint>
#include "attend/span.h"

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
  const float* attn_out = nullptr;    // [N, E] the attention update W_O·head_out + b_O
  const float* mlp_out = nullptr;     // [N, E] the MLP update
};

class ModelTraceSink {
 public:
  virtual ~ModelTraceSink() = default;
  // The capture sink the model passes to layer `layer`'s attention kernel (nullptr: none).
  // Called from the thread running the forward pass, once per layer, before that layer runs.
  virtual CaptureSink* attention_sink(int layer) { (void)layer; return nullptr; }
  // Called after each block, from the thread running the forward pass. With hooks the trace sees
  // the values after the hooks changed them (what flowed on).
  virtual void on_layer(const LayerTrace& trace) { (void)trace; }
};

// The points of block l where a hook sees, and may overwrite, an activation (in forward order).
enum class HookPoint : int {
  resid_pre = 0,  // [N, E] entering the block
  q,              // [N, H, D] queries after RoPE
  k,              // [N, G, D] keys after RoPE
  v,              // [N, G, D] values
  head_out,       // [N, H, D] each head's output z (softmax(q·kᵀ/√D)·v), before W_O
  attn_out,       // [N, E] the attention update W_O·z + b_O
  resid_mid,      // [N, E] resid_pre + attn_out
  mlp_out,        // [N, E] the MLP update
  resid_post,     // [N, E] resid_mid + mlp_out, leaving the block
};
inline constexpr int kHookPoints = 9;
// "resid_pre", "q", … (the Python names are blocks.<l>.hook_<name>).
inline const char* hook_point_name(HookPoint p) {
  constexpr const char* kNames[kHookPoints] = {"resid_pre", "q", "k", "v", "head_out", "attn_out", "resid_mid", "mlp_out", "resid_post"};
  const int i = static_cast<int>(p);
  return i >= 0 && i < kHookPoints ? kNames[i] : "?";
}

// Where a hook is called: the point, the layer and the shape letters of the pass.
struct HookSite {
  HookPoint point = HookPoint::resid_pre;
  int layer = 0;
  std::int64_t tokens = 0, d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
};

// Writable hooks on the model's forward pass (Model::forward with hooks; one sequence). Everything
// is called from the thread running the forward pass, in forward order. Hooks change inference
// only: training never runs them.
class ModelHooks {
 public:
  virtual ~ModelHooks() = default;
  // Whether on_activation wants (point, layer): lets the model skip work for points nobody reads.
  virtual bool wants(HookPoint point, int layer) const { (void)point; (void)layer; return true; }
  // x: the activation at `site` (shape in HookPoint's comment), row-major; may be modified in place.
  virtual void on_activation(const HookSite& site, Span<float> x) { (void)site; (void)x; }
  // Heads of `layer` whose attention pattern the model materialises (N × N each, only for these
  // heads) and hands to on_patterns after the kernel ran.
  virtual bool wants_pattern(int layer, int head) const { (void)layer; (void)head; return false; }
  // patterns: [heads.size(), N, N] weights softmax(q·kᵀ/√D) (row = query, 0 above the diagonal);
  // may be modified. The model then recomputes those heads' outputs as pattern · v (before the
  // head_out hook runs).
  virtual void on_patterns(int layer, Span<const int> heads, Span<float> patterns, std::int64_t tokens) {
    (void)layer; (void)heads; (void)patterns; (void)tokens;
  }
};

}  // namespace attend
