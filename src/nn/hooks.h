#pragma once
// The forward pass's hook points (attend/trace.h, ModelHooks): calling a hook at a point and
// materialising the attention patterns of the heads a hook asked for.
//
// Shape letters: T tokens (one sequence), E width, H heads, G KV heads, D head size.
#include <cstdint>

#include "attend/trace.h"

namespace attend::nn {

// Calls hooks->on_activation at one point of one layer when the hooks want it (no-op without hooks).
class HookCaller {
 public:
  HookCaller(ModelHooks* hooks, int layer, std::int64_t T, std::int64_t E, std::int64_t H, std::int64_t G, std::int64_t D);
  // x: the activation at `point` (its size follows from the point's shape).
  void operator()(HookPoint point, float* x) const;
  bool active() const { return hooks_ != nullptr; }

 private:
  ModelHooks* hooks_;
  HookSite site_;
};

// For the heads of `layer` the hooks want patterns of: P = softmax(q·kᵀ/√D) (causal) [T, T] per
// head, handed to hooks.on_patterns, then att[:, h, :] = P · v[:, h's KV head, :] recomputed.
// q [T, H, D], k, v [T, G, D], att [T, H, D].
void run_pattern_hooks(ModelHooks& hooks, int layer, const float* q, const float* k, const float* v, float* att,
                       std::int64_t T, std::int64_t H, std::int64_t G, std::int64_t D);

}  // namespace attend::nn
