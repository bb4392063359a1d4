// The decode kernel body compiled for the avx512 path (see decode_impl.h).
#include "kernels/simd/avx512.h"
#include "kernels/decode_impl.h"

namespace attend::kernels {

void decode_task_avx512(const DecodeProblem& p, const DecodeTask& t, float* scratch, float* partial) {
  decode_task_impl<SimdAvx512>(p, t, scratch, partial);
}

}  // namespace attend::kernels
