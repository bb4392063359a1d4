// The backward kernel body compiled for the scalar path (see backward_impl.h).
#include "kernels/simd/scalar.h"
#include "kernels/backward_impl.h"

namespace attend::kernels {

void backward_task_scalar(const BackwardProblem& b, const BackwardScratch& layout, const BackwardRowTerms& rt,
                          const BackwardTask& t, const DqTarget& dq, float* scratch, float* dbias_task) {
  backward_task_impl<SimdScalar>(b, layout, rt, t, dq, scratch, dbias_task);
}

}  // namespace attend::kernels
