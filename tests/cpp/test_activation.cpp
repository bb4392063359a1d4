// The MLP activations (kernels/activation.h: GELU tanh form, SwiGLU; forward and backward) on
// every SIMD path this CPU has, against the formulas in double: awkward lengths (tails of a
// vector, several pool chunks), large and special inputs (±inf limits, NaN kept), and backward
// accumulating onto what the gradient already holds.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "attend/runtime.h"
#include "kernels/activation.h"
#include "test_util.h"

namespace attend {
namespace {

using test::supported_isas;
using test::IsaGuard;

using I64 = std::int64_t;

std::vector<float> inputs(I64 n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = d(g);
  const float specials[] = {0.0f, -0.0f, 1e-8f, -1e-8f, 12.0f, -12.0f, 60.0f, -60.0f, 1e30f, -1e30f};
  for (std::size_t i = 0; i < std::size(specials) && i < v.size(); ++i) v[i * 3 % v.size()] = specials[i];
  return v;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double gelu_grad(double x) {
  const double t = std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
}
double sigmoid(double g) { return 1.0 / (1.0 + std::exp(-g)); }

// |got − want| within a few float ulps of the result's scale (terms up to the input's size).
void expect_near(double want, float got, double scale, const char* what, I64 i) {
  const double tol = 4e-6 * (1.0 + scale);
  if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << what << "[" << i << "]";
  else EXPECT_NEAR(got, want, tol) << what << "[" << i << "] isa " << isa_name(active_isa());
}

TEST(Activation, EveryPathMatchesTheFormulasInDouble) {
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    for (I64 n : {1, 7, 16, 65, 1000, 2 * 16384 + 5}) {
      const std::vector<float> x = inputs(n, 11 + static_cast<std::uint64_t>(n)), u = inputs(n, 99), d = inputs(n, 5);
      std::vector<float> out(static_cast<std::size_t>(n));
      kernels::gelu_forward(out.data(), x.data(), n);
      for (I64 i = 0; i < n; ++i) expect_near(gelu(x[i]), out[i], std::abs(x[i]), "gelu", i);
      std::vector<float> dx(static_cast<std::size_t>(n), 0.25f);  // backward adds onto this
      kernels::gelu_backward(dx.data(), x.data(), d.data(), n);
      for (I64 i = 0; i < n; ++i) {
        const double g = static_cast<double>(d[i]) * gelu_grad(x[i]);
        expect_near(0.25 + g, dx[i], std::abs(d[i]) + 0.25, "gelu'", i);
      }
      kernels::swiglu_forward(out.data(), x.data(), u.data(), n);
      for (I64 i = 0; i < n; ++i) {
        const double want = x[i] * sigmoid(x[i]) * u[i];
        if (std::abs(x[i]) > 1e20) continue;  // g·σ(g)·u overflows to ±inf·0 in the formula too
        expect_near(want, out[i], std::abs(x[i] * u[i]), "swiglu", i);
      }
      std::vector<float> dg(static_cast<std::size_t>(n), -1.0f), du(static_cast<std::size_t>(n), 0.5f);
      kernels::swiglu_backward(dg.data(), du.data(), d.data(), x.data(), u.data(), n);
      for (I64 i = 0; i < n; ++i) {
        if (std::abs(x[i]) > 1e20) continue;
        const double s = sigmoid(x[i]);
        expect_near(0.5 + d[i] * x[i] * s, du[i], std::abs(d[i] * x[i]), "swiglu du", i);
        expect_near(-1.0 + d[i] * u[i] * s * (1 + x[i] * (1 - s)), dg[i], std::abs(d[i] * u[i]) * (1 + std::abs(x[i])), "swiglu dg", i);
      }
    }
  }
}

TEST(Activation, LimitsAndNaN) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    const std::vector<float> x{inf, -inf, nan, 0.0f, 1e-3f};
    std::vector<float> out(x.size());
    kernels::gelu_forward(out.data(), x.data(), 5);
    EXPECT_EQ(out[0], inf) << isa_name(isa);
    EXPECT_TRUE(out[1] == 0.0f || std::isnan(out[1])) << "gelu(−inf) = −inf · 0: " << out[1];
    EXPECT_TRUE(std::isnan(out[2])) << isa_name(isa);
    EXPECT_EQ(out[3], 0.0f);
    EXPECT_NEAR(out[4], gelu(1e-3), 1e-9);
  }
}

}  // namespace
}  // namespace attend
