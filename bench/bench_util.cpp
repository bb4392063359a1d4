#include "bench/bench_util.h"

#include <cstdio>
#include <ctime>

namespace attend::bench {

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void fill_random(const Tensor& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> tmp(static_cast<std::size_t>(t.numel()));
  for (float& x : tmp) x = u(rng);
  convert_from_f32(tmp.data(), t.data(), t.dtype(), tmp.size());
}

void warn_if_disturbed(const char* instrument, int above, int points, double worst_percent) {
  if (above == 0) return;
  std::fprintf(stderr,
               "attend bench: warning: %d of %d measurements exceed the %s measured in this run (up to %.0f %%): the machine "
               "was disturbed (other load) while it was measured, so the percentages are not reliable; rerun on an idle machine\n",
               above, points, instrument, worst_percent);
}

}  // namespace attend::bench
