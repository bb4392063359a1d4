// The decode kernel body compiled for the scalar path (see decode_impl.h).
#include "kernels/simd/scalar.h"
#include "kernels/decode_impl.h"

namespace attend::kernels {

void decode_task_scalar(const DecodeProblem& p, const DecodeTask& t, float* scratch, float* partial) {
  decode_task_impl<SimdScalar>(p, t, scratch, partial);
}

}  // namespace attend::kernels
