// The backward kernel body compiled for the avx512 path (see backward_impl.h).
#include "kernels/simd/avx512.h"
#include "kernels/backward_impl.h"

namespace attend::kernels {

void backward_task_avx512(const BackwardProblem& b, const BackwardScratch& layout, const BackwardRowTerms& rt,
                          const BackwardTask& t, const DqTarget& dq, float* scratch, float* dbias_task) {
  backward_task_impl<SimdAvx512>(b, layout, rt, t, dq, scratch, dbias_task);
}

}  // namespace attend::kernels
