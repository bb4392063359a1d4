#pragma once
// The MLP's nonlinearities over arrays, on attend's SIMD paths and pool: GELU (GPT-2's tanh form)
// and the SwiGLU gate (Llama), forward and backward. One pass over the activations each, with a
// vector exp2 (the scalar loop through libm's expf was 15-18 % of a training step, measured).
//
// All arrays are [n] f32; backward functions accumulate (dx += ...), as the model's backward does.
#include <cstdint>

namespace attend::kernels {

// out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
void gelu_forward(float* out, const float* x, std::int64_t n);
// dx += dout · d gelu(x) / dx
void gelu_backward(float* dx, const float* x, const float* dout, std::int64_t n);
// out = g·σ(g)·u
void swiglu_forward(float* out, const float* g, const float* u, std::int64_t n);
// du += dout·g·σ(g);  dg += dout·u·σ(g)·(1 + g·(1 − σ(g)))
void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u, std::int64_t n);

// One path's bodies over a range [0, n) (activation_impl.h; the table in dispatch.cpp).
struct ActivationFns {
  void (*gelu_forward)(float* out, const float* x, std::int64_t n) = nullptr;
  void (*gelu_backward)(float* dx, const float* x, const float* dout, std::int64_t n) = nullptr;
  void (*swiglu_forward)(float* out, const float* g, const float* u, std::int64_t n) = nullptr;
  void (*swiglu_backward)(float* dg, float* du, const float* dout, const float* g, const float* u, std::int64_t n) = nullptr;
};
extern const ActivationFns kActivationScalar, kActivationAvx2, kActivationAvx512;

}  // namespace attend::kernels
