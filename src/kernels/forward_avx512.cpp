// The forward kernel body compiled for the avx512 path (see forward_impl.h).
#include "kernels/simd/avx512.h"
#include "kernels/forward_impl.h"

namespace attend::kernels {

void forward_task_avx512(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels,
                       const ForwardTask& t, float* scratch, bool stats, int sink_tokens, RowStats* stats_out) {
  forward_task_impl<SimdAvx512>(p, layout, panels, t, scratch, stats, sink_tokens, stats_out);
}

void forward_pack_avx512(const Problem& p, const ForwardScratch& layout, const ForwardPanels& panels, const PackUnit& u) {
  forward_pack_impl<SimdAvx512>(p, layout, panels, u);
}

void exp2_array_avx512(const float* x, float* y, std::int64_t n) { exp2_array_impl<SimdAvx512>(x, y, n); }

}  // namespace attend::kernels
