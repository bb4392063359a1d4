#include "bench/bench_util.h"

namespace attend::bench {

void fill_random(const Tensor& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> tmp(static_cast<std::size_t>(t.numel()));
  for (float& x : tmp) x = u(rng);
  convert_from_f32(tmp.data(), t.data(), t.dtype(), tmp.size());
}

}  // namespace attend::bench
