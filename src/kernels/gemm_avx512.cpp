// The GEMM block on the avx512 path (kernels/gemm_impl.h).
#include "kernels/gemm_impl.h"
#include "kernels/simd/avx512.h"

namespace attend::kernels {

void gemm_block_avx512(const GemmProblem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  gemm_block_impl<SimdAvx512>(p, m0, m1, n0, n1);
}

}  // namespace attend::kernels
