// Linear layers and the unembedding through kernels::sgemm (x·W convention: w is [in, out]).
#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "nn/layers.h"

namespace attend::nn {
using kernels::Op;
constexpr std::int64_t kBiasColumns = 256;  // columns per task of the bias gradient: 1 KiB of each row

// out: [R, O] = x [R, I] · w [I, O] + b [O]
void linear_forward(float* out, const float* x, const float* w, const float* b, std::int64_t R,
                    std::int64_t I, std::int64_t O) {
  kernels::sgemm(Op::none, Op::none, R, O, I, 1.0f, x, I, w, O, 0.0f, out, O, 0, b);
}

void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     std::int64_t R, std::int64_t I, std::int64_t O, bool dx_accumulates) {
  // dx [R, I] (+)= dout [R, O] · wᵀ [O, I]
  if (dx)
    kernels::sgemm(Op::none, Op::transpose, R, I, O, 1.0f, dout, O, w, O, dx_accumulates ? 1.0f : 0.0f, dx, I);
  // dw [I, O] += xᵀ [I, R] · dout [R, O]
  kernels::sgemm(Op::transpose, Op::none, I, O, R, 1.0f, x, I, dout, O, 1.0f, dw, O);
  // db [O] += Σ_r dout [r, O]: columns in parallel blocks, each summed over r in order (the same
  // result with any thread count).
  if (db)
    core::parallel_ranges(O, kBiasColumns, [&](std::int64_t o0, std::int64_t o1) {
      for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t o = o0; o < o1; ++o) db[o] += dout[r * O + o];
    });
}

// logits [R, V] = x [R, E] · wᵀ, w [V, E]
void unembed_forward(float* logits, const float* x, const float* w, std::int64_t R, std::int64_t E,
                     std::int64_t V) {
  kernels::sgemm(Op::none, Op::transpose, R, V, E, 1.0f, x, E, w, E, 0.0f, logits, V);
}

void unembed_backward(float* dx, float* dw, const float* dlogits, const float* x, const float* w,
                      std::int64_t R, std::int64_t E, std::int64_t V, bool dx_accumulates) {
  // dx [R, E] (+)= dlogits [R, V] · w [V, E]
  kernels::sgemm(Op::none, Op::none, R, E, V, 1.0f, dlogits, V, w, E, dx_accumulates ? 1.0f : 0.0f, dx, E);
  // dw [V, E] += dlogitsᵀ [V, R] · x [R, E]
  kernels::sgemm(Op::transpose, Op::none, V, E, R, 1.0f, dlogits, V, x, E, 1.0f, dw, E);
}

}  // namespace attend::nn
