#pragma once
// The activation bodies over SIMD traits `Simd` (internal linkage; compiled once per ISA). The
// vector part and the tail share one formula (the tail runs it on a zero-padded vector), so every
// element gets the same arithmetic wherever it falls.
#include <algorithm>
#include <cstdint>

#include "kernels/activation.h"

namespace attend::kernels {
namespace {

template <class Simd>
struct Activation {
  using V = typename Simd::V;
  static constexpr int W = Simd::W;
  static constexpr float kLog2e = 1.4426950408889634f;
  static constexpr float kGeluC = 0.7978845608028654f;  // √(2/π)
  static constexpr float kGeluA = 0.044715f;

  // tanh(u) = 1 − 2 / (1 + e^{2u}): exact limits ±1 (e^{2u} = inf or 0), NaN kept.
  static V tanh(V u) {
    const V e = Simd::exp2(Simd::mul(u, Simd::set1(2.0f * kLog2e)));
    return Simd::sub(Simd::set1(1.0f), Simd::div(Simd::set1(2.0f), Simd::add(Simd::set1(1.0f), e)));
  }
  static V sigmoid(V g) {
    const V e = Simd::exp2(Simd::mul(g, Simd::set1(-kLog2e)));
    return Simd::div(Simd::set1(1.0f), Simd::add(Simd::set1(1.0f), e));
  }
  static V gelu(V x) {
    const V x3 = Simd::mul(Simd::mul(x, x), x);
    const V t = tanh(Simd::mul(Simd::set1(kGeluC), Simd::fma(Simd::set1(kGeluA), x3, x)));
    return Simd::mul(Simd::mul(Simd::set1(0.5f), x), Simd::add(Simd::set1(1.0f), t));
  }
  static V gelu_grad(V x) {  // 0.5(1 + t) + 0.5·x·(1 − t²)·c(1 + 3a·x²)
    // Beyond ±20 the derivative is 1 or 0 to float precision; clamping keeps x³ finite (else
    // 0 · inf = NaN for |x| > 1e13). NaN passes through (the second operand of min/max).
    x = Simd::max(Simd::set1(-20.0f), Simd::min(Simd::set1(20.0f), x));
    const V x2 = Simd::mul(x, x);
    const V t = tanh(Simd::mul(Simd::set1(kGeluC), Simd::fma(Simd::set1(kGeluA), Simd::mul(x2, x), x)));
    const V du = Simd::mul(Simd::set1(kGeluC), Simd::fma(Simd::set1(3.0f * kGeluA), x2, Simd::set1(1.0f)));
    const V one_minus_t2 = Simd::sub(Simd::set1(1.0f), Simd::mul(t, t));
    const V half = Simd::set1(0.5f);
    return Simd::fma(Simd::mul(Simd::mul(half, x), one_minus_t2), du, Simd::mul(half, Simd::add(Simd::set1(1.0f), t)));
  }

  // Applies body(i, count) to [0, n) in vectors; the tail goes through a padded copy.
  template <int kIn, class Body>
  static void each(std::int64_t n, const float* const (&in)[kIn], Body&& body) {
    std::int64_t i = 0;
    for (; i + W <= n; i += W) {
      V v[kIn];
      for (int a = 0; a < kIn; ++a) v[a] = Simd::load(in[a] + i);
      body(i, v, W);
    }
    if (i < n) {
      alignas(64) float pad[kIn][W] = {};
      for (int a = 0; a < kIn; ++a) std::copy(in[a] + i, in[a] + n, pad[a]);
      V v[kIn];
      for (int a = 0; a < kIn; ++a) v[a] = Simd::load(pad[a]);
      body(i, v, static_cast<int>(n - i));
    }
  }
  // y[i .. i + count) = v (or += v)
  static void put(float* y, std::int64_t i, V v, int count, bool add) {
    if (count == W) {
      Simd::store(y + i, add ? Simd::add(Simd::load(y + i), v) : v);
      return;
    }
    alignas(64) float tmp[W];
    Simd::store(tmp, v);
    for (int k = 0; k < count; ++k) y[i + k] = add ? y[i + k] + tmp[k] : tmp[k];
  }

  static void gelu_forward(float* out, const float* x, std::int64_t n) {
    each<1>(n, {x}, [&](std::int64_t i, const V* v, int c) { put(out, i, gelu(v[0]), c, false); });
  }
  static void gelu_backward(float* dx, const float* x, const float* dout, std::int64_t n) {
    each<2>(n, {x, dout}, [&](std::int64_t i, const V* v, int c) { put(dx, i, Simd::mul(v[1], gelu_grad(v[0])), c, true); });
  }
  static void swiglu_forward(float* out, const float* g, const float* u, std::int64_t n) {
    each<2>(n, {g, u}, [&](std::int64_t i, const V* v, int c) {
      put(out, i, Simd::mul(Simd::mul(v[0], sigmoid(v[0])), v[1]), c, false);
    });
  }
  static void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u, std::int64_t n) {
    each<3>(n, {dout, g, u}, [&](std::int64_t i, const V* v, int c) {
      const V s = sigmoid(v[1]);
      put(du, i, Simd::mul(Simd::mul(v[0], v[1]), s), c, true);
      // d(g·σ(g)) = σ(1 + g(1 − σ))
      const V dsilu = Simd::mul(s, Simd::fma(v[1], Simd::sub(Simd::set1(1.0f), s), Simd::set1(1.0f)));
      put(dg, i, Simd::mul(Simd::mul(v[0], v[2]), dsilu), c, true);
    });
  }

  static constexpr ActivationFns table() {
    return ActivationFns{gelu_forward, gelu_backward, swiglu_forward, swiglu_backward};
  }
};

}  // namespace
}  // namespace attend::kernels
