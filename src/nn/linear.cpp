// Linear layers and the unembedding through OpenBLAS (x·W convention: w is [in, out]).
#include <cblas.h>

#include "nn/layers.h"

namespace attend::nn {
namespace {
int i32(std::int64_t v) { return static_cast<int>(v); }
}  // namespace

// out: [R, O] = x [R, I] · w [I, O] + b [O]
void linear_forward(float* out, const float* x, const float* w, const float* b, std::int64_t R,
                    std::int64_t I, std::int64_t O) {
  if (b) {
    for (std::int64_t r = 0; r < R; ++r)
      for (std::int64_t o = 0; o < O; ++o) out[r * O + o] = b[o];
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i32(R), i32(O), i32(I), 1.0f, x, i32(I), w, i32(O),
              b ? 1.0f : 0.0f, out, i32(O));
}

void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     std::int64_t R, std::int64_t I, std::int64_t O) {
  // dx [R, I] += dout [R, O] · wᵀ [O, I]
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i32(R), i32(I), i32(O), 1.0f, dout, i32(O), w, i32(O),
                1.0f, dx, i32(I));
  // dw [I, O] += xᵀ [I, R] · dout [R, O]
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i32(I), i32(O), i32(R), 1.0f, x, i32(I), dout, i32(O),
              1.0f, dw, i32(O));
  if (db)
    for (std::int64_t r = 0; r < R; ++r)
      for (std::int64_t o = 0; o < O; ++o) db[o] += dout[r * O + o];
}

// logits [R, V] = x [R, E] · wᵀ, w [V, E]
void unembed_forward(float* logits, const float* x, const float* w, std::int64_t R, std::int64_t E,
                     std::int64_t V) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i32(R), i32(V), i32(E), 1.0f, x, i32(E), w, i32(E), 0.0f,
              logits, i32(V));
}

void unembed_backward(float* dx, float* dw, const float* dlogits, const float* x, const float* w,
                      std::int64_t R, std::int64_t E, std::int64_t V) {
  // dx [R, E] += dlogits [R, V] · w [V, E]
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i32(R), i32(E), i32(V), 1.0f, dlogits, i32(V), w, i32(E),
              1.0f, dx, i32(E));
  // dw [V, E] += dlogitsᵀ [V, R] · x [R, E]
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i32(V), i32(E), i32(R), 1.0f, dlogits, i32(V), x, i32(E),
              1.0f, dw, i32(E));
}

}  // namespace attend::nn
