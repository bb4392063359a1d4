// attend bench --decode: ms per generated token and effective bandwidth (bytes of K and V read /
// time) of decode attention, next to this machine's read bandwidth measured in the same run.
// The caches are flushed between timed tokens (a 64 MiB stream), so each token reads from memory.
// The read bandwidth is measured at the start and again after each line's tokens; each line's %
// is against the larger of the two (printed as read-bw).
#include <algorithm>
#include <map>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "bench/bandwidth.h"

namespace attend::bench {
namespace {

int run_decode_bench(const BenchCommon& c) {
  const std::int64_t Hq = 32, G = 8, D = 128;
  std::vector<std::int64_t> lens = c.ns_given ? c.ns : std::vector<std::int64_t>{4096, 16384, 65536};
  std::vector<std::string> dtypes = c.dtypes_given ? c.dtypes : std::vector<std::string>{"bf16", "f16", "f32"};
  std::vector<std::int64_t> batches{1, 8};
  if (c.quick) { lens = {4096}; batches = {1}; dtypes = {"bf16"}; }
  std::printf("# attend bench --decode — isa %s, Hq=%ld G=%ld D=%ld, runs %d (median), caches flushed between tokens\n",
              std::string(isa_name(active_isa())).c_str(), static_cast<long>(Hq), static_cast<long>(G), static_cast<long>(D), c.runs);
  std::map<int, double> bw;  // by thread count
  for (int t : c.threads) {
    bw[t] = measure_read_bandwidth_gbs(t);
    std::printf("# measured read bandwidth, %d thread(s): %.1f GB/s\n", t, bw[t]);
  }
  std::printf("%-5s %6s %5s %3s | %10s %17s %9s %8s %8s | %10s\n", "cache", "L", "batch", "thr", "ms/token", "(min-max)", "GB/s", "read-bw",
              "%read-bw", "cpu-ms/thr");
  int points = 0, above = 0;
  double worst = 0;
  for (const std::string& dt : dtypes)
    for (std::int64_t L : lens)
      for (std::int64_t B : batches) {
        const DType dtype = dtype_from_name(dt);
        KVCache cache(B, L, G, D, D, dtype);
        Tensor chunk(DType::f32, {std::min<std::int64_t>(L, 4096), G, D});
        fill_random(chunk, 1);
        for (std::int64_t s = 0; s < B; ++s)
          for (std::int64_t i = 0; i < L; i += chunk.dim(0)) {
            TensorView part = chunk.view();
            part.shape[0] = std::min(chunk.dim(0), L - i);
            cache.append(s, part, part);
          }
        Tensor q(DType::f32, {B, 1, Hq, D}), out(DType::f32, {B, 1, Hq, D});
        fill_random(q, 2);
        const double bytes = 2.0 * static_cast<double>(B * L * G * D) * static_cast<double>(dtype_size(dtype));
        for (int t : c.threads) {
          DecodeOptions opts;
          opts.threads = t;
          std::vector<double> times, cpu;
          decode(q.view(), cache, out.view(), opts);  // warm-up
          for (int r = 0; r < c.runs; ++r) {
            flush_caches();
            const double c0 = process_cpu_seconds();
            const auto t0 = std::chrono::steady_clock::now();
            decode(q.view(), cache, out.view(), opts);
            times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            cpu.push_back((process_cpu_seconds() - c0) / t);
          }
          // The read bandwidth again, right after this line's tokens: on a shared machine the
          // start-of-run figure can be disturbed; the % uses the larger of the two.
          const double bw_line = std::max(bw[t], measure_read_bandwidth_gbs(t));
          std::sort(times.begin(), times.end());
          std::sort(cpu.begin(), cpu.end());
          const double med = times[times.size() / 2], gbs = bytes / med / 1e9;
          ++points;
          above += gbs > bw_line;
          worst = std::max(worst, 100 * gbs / bw_line);
          std::printf("%-5s %6ld %5ld %3d | %10.3f (%7.3f-%7.3f) %9.1f %8.1f %7.1f%% | %10.3f\n", dt.c_str(), static_cast<long>(L), static_cast<long>(B), t,
                      med * 1e3, times.front() * 1e3, times.back() * 1e3, gbs, bw_line, 100 * gbs / bw_line, cpu[cpu.size() / 2] * 1e3);
          std::fflush(stdout);
        }
      }
  warn_if_disturbed("read bandwidth", above, points, worst);
  return 0;
}

const bool registered = register_bench_mode("--decode", "benchmark decode attention over a KV cache vs measured read bandwidth", run_decode_bench);

}  // namespace
}  // namespace attend::bench
