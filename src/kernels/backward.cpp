// attend::attention_backward: entry point. For now the exact double-precision path; the tiled
// FlashAttention-2 backward replaces it (issue: attention backward).
#include "attend/backward.h"

namespace attend {

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts) {
  reference::attention_backward(q, k, v, out, dout, lse, grads, opts);
}

}  // namespace attend
