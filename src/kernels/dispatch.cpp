// The per-ISA kernel tables: the one place that names each path's functions.
#include "kernels/dispatch.h"

#include "kernels/forward_bf16.h"

namespace attend::kernels {
namespace {

constexpr KernelTable kScalar{.isa = Isa::scalar,
                              .forward_pack = forward_pack_scalar,
                              .forward_task = forward_task_scalar,
                              .backward_task = backward_task_scalar,
                              .decode_task = decode_task_scalar,
                              .exp2_array = exp2_array_scalar,
                              .matvec_rows = matvec_rows_scalar,
                              .matvec_cols = matvec_cols_scalar,
                              .matvec_q8 = matvec_q8_rows_scalar,
                              .gemm_block = gemm_block_scalar,
                              .gemm_bf16_block = gemm_bf16_block_scalar,
                              .activation = &kActivationScalar};
constexpr KernelTable kAvx2{.isa = Isa::avx2,
                            .forward_pack = forward_pack_avx2,
                            .forward_task = forward_task_avx2,
                            .backward_task = backward_task_avx2,
                            .decode_task = decode_task_avx2,
                            .exp2_array = exp2_array_avx2,
                            .matvec_rows = matvec_rows_avx2,
                            .matvec_cols = matvec_cols_avx2,
                              .matvec_q8 = matvec_q8_rows_avx2,
                              .gemm_block = gemm_block_avx2,
                              .gemm_bf16_block = gemm_bf16_block_avx2,
                              .activation = &kActivationAvx2};
// The avx512 path's detection requires avx512_bf16 (cpuid leaf 7.1 EAX bit 5) and avx512_vnni
// (leaf 7 ECX bit 11, src/core/cpu_features.cpp), so it has the bf16 forward and the int8 matvec; ATTEND_ISA=avx2 / scalar never take it.
constexpr KernelTable kAvx512{.isa = Isa::avx512,
                              .forward_pack = forward_pack_avx512,
                              .forward_task = forward_task_avx512,
                              .forward_pack_bf16 = forward_pack_bf16_avx512,
                              .forward_task_bf16 = forward_task_bf16_avx512,
                              .backward_task = backward_task_avx512,
                              .decode_task = decode_task_avx512,
                              .exp2_array = exp2_array_avx512,
                              .matvec_rows = matvec_rows_avx512,
                              .matvec_cols = matvec_cols_avx512,
                              .matvec_q8 = matvec_q8_rows_avx512,
                              .gemm_block = gemm_block_avx512,
                              .gemm_bf16_block = gemm_bf16_block_avx512,
                              .activation = &kActivationAvx512};

}  // namespace

const KernelTable& kernel_table(Isa isa) {
  switch (isa) {
    case Isa::avx512: return kAvx512;
    case Isa::avx2: return kAvx2;
    case Isa::scalar: break;
  }
  return kScalar;
}

}  // namespace attend::kernels
