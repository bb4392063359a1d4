#include "bench/peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace attend::bench {
namespace {

// Runs `loop` on `threads` threads at once: all start together (a spin barrier), each repeats
// chunks of work until 0.2 s have passed; GFLOP/s of all threads. Best of 3 trials (the machine
// is shared: the best trial is the one least disturbed).
template <class Loop>
double run_parallel(int threads, Loop loop) {
  using clock = std::chrono::steady_clock;
  const long chunk = 200'000;  // ~1 ms of FMAs per call
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> flops(static_cast<std::size_t>(threads)), secs(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) {}
        const auto t0 = clock::now();
        double f = 0, s = 0;
        do {
          f += loop(chunk);
          s = std::chrono::duration<double>(clock::now() - t0).count();
        } while (s < 0.2);
        flops[static_cast<std::size_t>(t)] = f;
        secs[static_cast<std::size_t>(t)] = s;
      });
    while (ready.load() < threads) {}
    go.store(true);
    for (auto& th : pool) th.join();
    double total = 0;
    for (int t = 0; t < threads; ++t) total += flops[static_cast<std::size_t>(t)] / secs[static_cast<std::size_t>(t)];
    best = std::max(best, total / 1e9);
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

}  // namespace attend::bench
