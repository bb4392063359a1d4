#include "core/peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace attend::core {
namespace {

// Runs loop(iters) on `threads` threads at once, best of 5 trials; GFLOP/s of all threads.
template <class Loop>
double run_parallel(int threads, Loop loop) {
  const long iters = 20'000'000;
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    std::atomic<int> ready{0};
    std::vector<double> flops(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { flops[static_cast<std::size_t>(t)] = loop(iters / 10); });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / s / 1e9);
  }
  return best;
}

}  // namespace

double measure_fma_peak_gflops(int threads, Isa isa) {
  switch (isa) {
    case Isa::avx512: return run_parallel(threads, fma_loop_avx512);
    case Isa::avx2: return run_parallel(threads, fma_loop_avx2);
    case Isa::scalar: return detected_isa() == Isa::scalar ? 0.0 : run_parallel(threads, fma_loop_avx2);
  }
  return 0;
}

double measure_bf16_peak_gflops(int threads) {
  if (detected_isa() != Isa::avx512) return 0;
  return run_parallel(threads, bf16_loop_avx512);
}

}  // namespace attend::core
