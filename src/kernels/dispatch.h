#pragma once
// The kernels of one SIMD path as one table of function pointers. The three tables (scalar, avx2,
// avx512) are filled in one place (dispatch.cpp); each entry point (forward, backward, decode)
// selects its table once, at its start, and passes it down: kernel bodies never branch on the ISA,
// and a call runs wholly on one path even if the override changes meanwhile.
#include "attend/runtime.h"
#include "kernels/activation.h"
#include "kernels/backward_plan.h"
#include "kernels/decode_plan.h"
#include "kernels/forward_plan.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matvec.h"
#include "kernels/matvec_q8.h"

namespace attend::kernels {

// 2^x over an array with a path's vector exp2 (the accuracy tests call it).
using Exp2ArrayFn = void (*)(const float* x, float* y, std::int64_t n);

struct KernelTable {
  Isa isa = Isa::scalar;
  ForwardPackFn forward_pack = nullptr;
  ForwardTaskFn forward_task = nullptr;
  // bf16 q/k/v with AVX512-BF16 tile products (forward_bf16.h); null on paths without them.
  ForwardPackFn forward_pack_bf16 = nullptr;
  ForwardTaskFn forward_task_bf16 = nullptr;
  BackwardTaskFn backward_task = nullptr;
  DecodeTaskFn decode_task = nullptr;
  Exp2ArrayFn exp2_array = nullptr;
  MatvecRowsFn matvec_rows = nullptr;  // few-row products from stored weights (kernels/matvec.h)
  MatvecColsFn matvec_cols = nullptr;
  MatvecQ8Fn matvec_q8 = nullptr;  // q8_0 rows against int8-quantized activations (kernels/matvec_q8.h)
  GemmBlockFn gemm_block = nullptr;  // the runtime's matrix products (kernels/gemm.h)
  GemmBf16BlockFn gemm_bf16_block = nullptr;  // bf16 weights × bf16-rounded activations (kernels/gemm_bf16.h)
  const ActivationFns* activation = nullptr;  // GELU and SwiGLU (kernels/activation.h)
};

// The table of one path (whether this CPU may run it is the caller's business: active_isa()
// never exceeds detected_isa()).
const KernelTable& kernel_table(Isa isa);
// The table of the active path (ATTEND_ISA / set_isa_override, else the detected one).
inline const KernelTable& active_kernels() { return kernel_table(active_isa()); }

}  // namespace attend::kernels
