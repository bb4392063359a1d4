#pragma once
// The AVX512-BF16 forward path for bf16 q/k/v (forward_bf16_avx512.cpp): S = Q·Kᵀ and O += P·V with
// vdpbf16ps (bf16 pairs, f32 accumulation), P rounded to bf16 as FlashAttention does. It plugs
// into the driver of forward.cpp (same tasks, same panel batching) with its own panel layout:
//   K tile: [dp/2, bk, 2]    pairs of consecutive head-dim elements per key (dp = d rounded up to even)
//   V tile: [bk/2, dvp, 2]   pairs of consecutive keys per value column
// Capture, dropout and logit modifiers (soft-cap, bias, ALiBi) are not handled here: such calls
// take the f32 path (converted on load), so their semantics stay exactly those of that path.
#include <cstdint>

#include "kernels/forward_plan.h"
#include "kernels/problem.h"

namespace attend::kernels {

struct KernelTable;
// Whether forward() takes the bf16 path with the kernels of `kt` (a path that has it, bf16 q/k/v,
// no capture, dropout or logit modifiers). Defined in forward.cpp.
bool forward_bf16_applies(const Problem& p, const KernelTable& kt);

// Floats per key tile of the bf16 panels (two bf16 per float; a multiple of 16 since bk is a
// multiple of 64, so every tile stays 64-byte aligned).
inline std::int64_t forward_bf16_tile_floats(std::int64_t d, std::int64_t bk, std::int64_t dvp) {
  return ((d + 1) / 2 * 2) * bk / 2 + bk * dvp / 2;
}

void forward_task_bf16_avx512(const Problem&, const ForwardScratch&, const ForwardPanels&, const ForwardTask&, float*,
                              bool, int, RowStats*);
void forward_pack_bf16_avx512(const Problem&, const ForwardScratch&, const ForwardPanels&, const PackUnit&);

}  // namespace attend::kernels
