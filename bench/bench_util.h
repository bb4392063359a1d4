#pragma once
// Timing helpers for `attend bench` and `attend demo`: medians of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "attend/tensor.h"

namespace attend::bench {

struct Timing {
  double median = 0, min = 0, max = 0;  // seconds
};

template <class Fn>
Timing time_runs(int runs, Fn fn) {
  // Warm-up for at least 0.3 s (and one call): page faults, pool start, caches, and on this VM the
  // kernel's proactive reclaim (DAMON pageout) that makes a fresh process fault for its first calls.
  const auto warm_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  do fn(); while (std::chrono::steady_clock::now() < warm_until);
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

// A measurement above the instrument measured in the same run (more than 100 % of the FMA peak or
// of the read bandwidth) means the machine was disturbed while the instrument ran: says so on
// stderr, with how many of `points` were above and the largest percentage. Nothing when above == 0.
void warn_if_disturbed(const char* instrument, int above, int points, double worst_percent);

// Fills a tensor of any dtype with uniform values in [-1, 1).
void fill_random(const Tensor& t, std::uint64_t seed);
// CPU seconds of all the process's threads: unlike wall time, not inflated by other load.
double process_cpu_seconds();

}  // namespace attend::bench
