#include "bench/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "attend/runtime.h"

namespace attend::bench {

double measure_read_bandwidth_gbs(int threads, std::size_t bytes) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> buf(n, 1.0f);  // touched once here so pages are resident before timing
  auto stream = detected_isa() == Isa::avx512 ? read_stream_avx512 : read_stream_avx2;
  if (detected_isa() == Isa::scalar) return 0;
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> secs(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    volatile float sink = 0;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const std::size_t share = n / static_cast<std::size_t>(threads), begin = share * static_cast<std::size_t>(t);
        ready.fetch_add(1);
        while (!go.load()) {}
        const auto t0 = std::chrono::steady_clock::now();
        const float s = stream(buf.data() + begin, share);
        secs[static_cast<std::size_t>(t)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        sink = sink + s;
      });
    while (ready.load() < threads) {}
    go.store(true);
    for (auto& th : pool) th.join();
    const double slowest = *std::max_element(secs.begin(), secs.end());
    best = std::max(best, static_cast<double>(bytes) / slowest / 1e9);
  }
  return best;
}

void flush_caches() {
  static std::vector<float> junk(std::size_t{64} << 20 >> 2, 1.0f);  // 64 MiB, above any L3 here
  volatile float s = 0;
  for (std::size_t i = 0; i < junk.size(); i += 16) s = s + junk[i];
}

}  // namespace attend::bench
