// The bf16 GEMM block on the scalar path: the portable definition (kernels/gemm_bf16_impl.h).
#include "kernels/gemm_bf16_impl.h"

namespace attend::kernels {

void gemm_bf16_block_scalar(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  gemm_bf16_block_impl<PortableBf16>(p, m0, m1, n0, n1);
}

}  // namespace attend::kernels
