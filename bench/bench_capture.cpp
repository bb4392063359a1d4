// attend bench --capture: the cost of the observatory's streaming statistics (entropy, sink mass,
// mean distance, max weight and argmax per query row, computed inside the forward kernel) relative
// to the same forward without a capture sink. Both variants run in the same process, interleaved
// (the order alternates every run), so machine noise hits them alike; the overhead printed is the
// median of the per-pair ratios t_capture / t_plain − 1, with their min–max, and the ratio of the
// fastest runs (min/min − 1: the least disturbed estimate on a shared machine).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"

namespace attend::bench {
namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_capture_bench(const BenchCommon& c) {
  const std::int64_t H = c.heads;
  std::vector<std::int64_t> ns = c.ns_given ? c.ns : std::vector<std::int64_t>{1024, 4096};
  std::vector<std::int64_t> ds = c.ds_given ? c.ds : std::vector<std::int64_t>{128};
  if (c.quick) { ns = {256}; ds = {64}; }
  std::printf("# attend bench --capture — isa %s, H=%ld, f32, runs %d (interleaved pairs; median, min–max)\n",
              std::string(isa_name(active_isa())).c_str(), static_cast<long>(H), c.runs);
  std::printf("%4s %6s %6s %3s | %10s %10s | %9s %19s | %8s\n", "D", "N", "causal", "thr", "plain ms", "capture ms", "overhead",
              "(min – max)", "min/min");
  for (std::int64_t d : ds)
    for (std::int64_t n : ns)
      for (int causal : c.causal)
        for (int t : c.threads) {
          // q, k, v: [1, N, H, D]
          Tensor q(DType::f32, {1, n, H, d}), k(DType::f32, {1, n, H, d}), v(DType::f32, {1, n, H, d});
          Tensor out(DType::f32, {1, n, H, d});
          fill_random(q, 1);
          fill_random(k, 2);
          fill_random(v, 3);
          observe::StatsSink sink(1, H, n, 4);
          AttentionOptions plain;
          plain.causal = causal != 0;
          plain.threads = t;
          AttentionOptions cap = plain;
          cap.capture = &sink;
          const auto run_plain = [&] { attention(q.view(), k.view(), v.view(), out.view(), plain); };
          const auto run_cap = [&] { attention(q.view(), k.view(), v.view(), out.view(), cap); };
          run_plain();  // warm-up: page faults, pool start, caches
          run_cap();
          std::vector<double> tp, tc, ratio;
          for (int r = 0; r < c.runs; ++r) {
            double a = 0, b = 0;
            if (r % 2 == 0) { a = seconds_of(run_plain); b = seconds_of(run_cap); }
            else { b = seconds_of(run_cap); a = seconds_of(run_plain); }
            tp.push_back(a);
            tc.push_back(b);
            ratio.push_back(b / a - 1);
          }
          std::sort(tp.begin(), tp.end());
          std::sort(tc.begin(), tc.end());
          std::sort(ratio.begin(), ratio.end());
          const std::size_t mid = ratio.size() / 2;
          std::printf("%4ld %6ld %6d %3d | %10.2f %10.2f | %8.1f%% (%7.1f%% – %5.1f%%) | %7.1f%%\n", static_cast<long>(d),
                      static_cast<long>(n), causal, t, tp[tp.size() / 2] * 1e3, tc[tc.size() / 2] * 1e3, 100 * ratio[mid],
                      100 * ratio.front(), 100 * ratio.back(), 100 * (tc.front() / tp.front() - 1));
          std::fflush(stdout);
        }
  std::printf("# overhead = t(capture) / t(plain) − 1 per interleaved pair (median, min – max); min/min = fastest capture /\n"
              "# fastest plain − 1; plain/capture ms are medians; capture = observe::StatsSink, sink_tokens 4\n");
  return 0;
}

const bool registered =
    register_bench_mode("--capture", "benchmark the forward with vs without in-kernel capture statistics (same run)",
                        run_capture_bench);

}  // namespace
}  // namespace attend::bench
