// The forward kernel body compiled for the avx2 path (see forward_impl.h).
#include "kernels/simd/avx2.h"
#include "kernels/forward_impl.h"

namespace attend::kernels {

void forward_task_avx2(const Problem& p, const ForwardScratch& layout, const ForwardTask& t, float* scratch,
                       bool stats, int sink_tokens, RowStats* stats_out) {
  forward_task_impl<SimdAvx2>(p, layout, t, scratch, stats, sink_tokens, stats_out);
}

}  // namespace attend::kernels
