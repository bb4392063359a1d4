// MLP nonlinearities: GELU (GPT-2's tanh form) and the SwiGLU gate, on the kernels' SIMD paths
// and pool (kernels/activation.h).
#include "kernels/activation.h"
#include "nn/layers.h"

namespace attend::nn {

// out, x: [n]
void gelu_forward(float* out, const float* x, std::int64_t n) { kernels::gelu_forward(out, x, n); }

void gelu_backward(float* dx, const float* x, const float* dout, std::int64_t n) { kernels::gelu_backward(dx, x, dout, n); }

// out, g, u: [n]
void swiglu_forward(float* out, const float* g, const float* u, std::int64_t n) { kernels::swiglu_forward(out, g, u, n); }

void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u, std::int64_t n) {
  kernels::swiglu_backward(dg, du, dout, g, u, n);
}

}  // namespace attend::nn
