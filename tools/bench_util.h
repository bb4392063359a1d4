#pragma once
// Timing helpers for `attend bench` and `attend demo`: medians of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "attend/tensor.h"

namespace attend::cli {

struct Timing {
  double median = 0, min = 0, max = 0;  // seconds
};

template <class Fn>
Timing time_runs(int runs, Fn fn) {
  fn();  // warm-up: page faults, pool start, caches
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

// Fills a tensor of any dtype with uniform values in [-1, 1).
void fill_random(const Tensor& t, std::uint64_t seed);

}  // namespace attend::cli
