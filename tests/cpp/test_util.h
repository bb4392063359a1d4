#pragma once
// Helpers shared by the C++ tests: random tensors, error norms, layouts.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "attend/attend.h"

namespace attend::test {

// The SIMD paths this CPU can run, scalar first (each fast path is tested on all of them).
inline std::vector<Isa> supported_isas() {
  std::vector<Isa> isas{Isa::scalar};
  if (detected_isa() != Isa::scalar) isas.push_back(Isa::avx2);
  if (detected_isa() == Isa::avx512) isas.push_back(Isa::avx512);
  return isas;
}

// Forces one SIMD path for its scope.
struct IsaGuard {
  explicit IsaGuard(Isa isa) { set_isa_override(isa); }
  ~IsaGuard() { clear_isa_override(); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;
};

// Sets int8_activations() (attend/runtime.h) for a scope, then restores the previous setting.
struct Int8ActivationsGuard {
  explicit Int8ActivationsGuard(bool on) : before_(int8_activations()) { set_int8_activations(on); }
  ~Int8ActivationsGuard() { set_int8_activations(before_); }
  Int8ActivationsGuard(const Int8ActivationsGuard&) = delete;
  Int8ActivationsGuard& operator=(const Int8ActivationsGuard&) = delete;

 private:
  bool before_;
};

// n values uniform in [-1, 1) from `seed`.
inline std::vector<float> uniform_floats(std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = u(g);
  return v;
}

inline void fill_uniform(const Tensor& t, std::uint64_t seed, float lo = -1, float hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> tmp(static_cast<std::size_t>(t.numel()));
  for (float& x : tmp) x = u(rng);
  convert_from_f32(tmp.data(), t.data(), t.dtype(), tmp.size());
}

inline std::vector<float> to_f32(const TensorView& v) {
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(v.numel()));
  const std::int64_t n0 = v.rank > 0 ? v.dim(0) : 1, n1 = v.rank > 1 ? v.dim(1) : 1, n2 = v.rank > 2 ? v.dim(2) : 1,
                     n3 = v.rank > 3 ? v.dim(3) : 1;
  auto s = [&](int i) { return i < v.rank ? v.step(i) : 0; };
  for (std::int64_t a = 0; a < n0; ++a)
    for (std::int64_t b = 0; b < n1; ++b)
      for (std::int64_t c = 0; c < n2; ++c)
        for (std::int64_t d = 0; d < n3; ++d) {
          const std::int64_t off = a * s(0) + b * s(1) + c * s(2) + d * s(3);
          float x = 0;
          if (v.dtype == DType::f32) x = static_cast<const float*>(v.data)[off];
          else if (v.dtype == DType::bf16) x = bf16_to_f32(static_cast<const std::uint16_t*>(v.data)[off]);
          else x = f16_to_f32(static_cast<const std::uint16_t*>(v.data)[off]);
          out.push_back(x);
        }
  return out;
}

// ||a − b|| / ||b||; both must be finite where compared.
inline double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

inline bool all_finite(const std::vector<float>& a) {
  for (float x : a)
    if (!std::isfinite(x)) return false;
  return true;
}

// A tensor rounded to `dt` and back to f32: the same values a low-precision input carries.
inline Tensor rounded_copy_f32(const Tensor& src) {
  Tensor out(DType::f32, src.view().shape, src.rank());
  convert_to_f32(src.data(), src.dtype(), out.data_as<float>(), static_cast<std::size_t>(src.numel()));
  return out;
}

}  // namespace attend::test
