// Accuracy of the kernels' vector 2^x on every SIMD path this CPU has: ≤ 2 ulp against double
// over the whole f32 range (normal, denormal and overflowing results), -inf -> 0, NaN kept.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "attend/runtime.h"
#include "kernels/dispatch.h"

namespace attend {
namespace {

using Exp2Fn = void (*)(const float*, float*, std::int64_t);

// Distance in units of the last place of the f32 result nearest to the exact value.
double ulp_error(float got, double exact) {
  if (exact > std::numeric_limits<float>::max()) return std::isinf(got) && got > 0 ? 0.0 : 1e30;
  const double ulp = exact < std::numeric_limits<float>::min() ? std::ldexp(1.0, -149)
                                                               : std::ldexp(1.0, std::ilogb(exact) - 23);
  return std::fabs(static_cast<double>(got) - exact) / ulp;
}

void check_path(Exp2Fn fn, const char* name) {
  std::vector<float> x;
  for (double v = -160.0; v <= 130.0; v += 1.0 / 512) x.push_back(static_cast<float>(v));  // dense grid
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-155.0f, 129.0f), small(-1.0f, 1.0f);
  for (int i = 0; i < 200000; ++i) x.push_back(u(rng));
  for (int i = 0; i < 50000; ++i) x.push_back(small(rng));
  for (float v : {0.0f, -0.0f, 0.5f, -0.5f, 1e-30f, -126.0f, -126.5f, -149.0f, -149.5f, -150.0f, 127.0f, 127.99f, 128.0f})
    x.push_back(v);
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  double worst = 0;
  float worst_x = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error(y[i], std::exp2(static_cast<double>(x[i])));
    if (e > worst) { worst = e; worst_x = x[i]; }
  }
  EXPECT_LE(worst, 2.0) << name << ": worst error " << worst << " ulp at x = " << worst_x;

  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float sx[5] = {-inf, inf, nan, -1e30f, 1e30f};  // odd count: exercises the tail path too
  float sy[5];
  fn(sx, sy, 5);
  EXPECT_EQ(sy[0], 0.0f) << name << ": 2^-inf";
  EXPECT_TRUE(std::isinf(sy[1]) && sy[1] > 0) << name << ": 2^inf";
  EXPECT_TRUE(std::isnan(sy[2])) << name << ": NaN must propagate";
  EXPECT_EQ(sy[3], 0.0f) << name << ": 2^-1e30";
  EXPECT_TRUE(std::isinf(sy[4])) << name << ": 2^1e30";
}

TEST(Exp2Accuracy, ScalarPath) { check_path(kernels::kernel_table(Isa::scalar).exp2_array, "scalar"); }

TEST(Exp2Accuracy, Avx2Path) {
  if (detected_isa() < Isa::avx2) GTEST_SKIP() << "no AVX2 on this CPU";
  check_path(kernels::kernel_table(Isa::avx2).exp2_array, "avx2");
}

TEST(Exp2Accuracy, Avx512Path) {
  if (detected_isa() < Isa::avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  check_path(kernels::kernel_table(Isa::avx512).exp2_array, "avx512");
}

}  // namespace
}  // namespace attend
