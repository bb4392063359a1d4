// The forward sweep of `attend bench`: GFLOP/s and fraction of the measured FMA peak for the forward
// kernel, next to the naive OpenBLAS baseline measured in the same process.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "bench/naive_sdpa.h"
#include "bench/peak.h"

namespace attend::bench {

int run_forward_sweep(BenchCommon a) {
  std::printf("# attend bench — isa %s, runs %d (median, min–max)\n", std::string(isa_name(active_isa())).c_str(), a.runs);
  std::printf("# caches per core: L1d %lld KiB, L2 %lld KiB (the forward's key tiles follow L2)\n",
              static_cast<long long>(cache_sizes().l1d >> 10), static_cast<long long>(cache_sizes().l2 >> 10));
  std::map<int, double> peak, peak16;  // by thread count
  for (int t : a.threads) {
    peak[t] = measure_fma_peak_gflops(t, active_isa());
    peak16[t] = measure_bf16_peak_gflops(t);
    std::printf("# measured FMA peak, %d thread(s): f32 %.1f GFLOP/s, bf16 %.1f GFLOP/s\n", t,
                peak[t], peak16[t]);
  }
  if (a.peak_only) return 0;
  if (a.quick) { a.ns = {512, 2048}; a.ds = {128}; a.dtypes = {"f32"}; a.runs = 3; }
  std::printf("%-5s %4s %6s %6s %3s | %9s %7s %15s | %9s %7s\n", "dtype", "D", "N", "causal", "thr",
              "GFLOP/s", "%peak", "min–max", "naive", "ratio");
  std::vector<float> scores;
  for (const std::string& dt : a.dtypes)
    for (std::int64_t d : a.ds)
      for (std::int64_t n : a.ns)
        for (int c : a.causal)
          for (int t : a.threads) {
            const DType dtype = dtype_from_name(dt);
            Tensor q(dtype, {1, a.heads, n, d}), k(dtype, {1, a.heads, n, d}), v(dtype, {1, a.heads, n, d}),
                o(dtype, {1, a.heads, n, d});
            fill_random(q, 1); fill_random(k, 2); fill_random(v, 3);
            AttentionOptions opts;
            opts.causal = c != 0;
            opts.threads = t;
            const double flops = attention_flops(1, a.heads, n, n, d, d, opts);
            const Timing tm = time_runs(a.runs, [&] {
              attention(q.view().permuted(0, 2, 1, 3), k.view().permuted(0, 2, 1, 3), v.view().permuted(0, 2, 1, 3),
                        o.view().permuted(0, 2, 1, 3), opts);
            });
            const double gf = flops / tm.median / 1e9;
            const double pk = (dtype == DType::bf16 ? peak16 : peak)[t];
            double naive_gf = 0;
            if (!a.no_baseline) {
              Tensor qf(DType::f32, {a.heads, n, d}), kf(DType::f32, {a.heads, n, d}), vf(DType::f32, {a.heads, n, d}),
                  of(DType::f32, {a.heads, n, d});
              fill_random(qf, 1); fill_random(kf, 2); fill_random(vf, 3);
              set_blas_threads(t);
              const Timing tn = time_runs(a.runs, [&] {
                naive_sdpa(qf.data_as<float>(), kf.data_as<float>(), vf.data_as<float>(), of.data_as<float>(), a.heads, n, n, d, d,
                           opts.causal, scores);
              });
              naive_gf = flops / tn.median / 1e9;
            }
            std::printf("%-5s %4ld %6ld %6s %3d | %9.1f %6.1f%% %7.1f–%-7.1f | %9.1f %6.2fx\n", dt.c_str(),
                        static_cast<long>(d), static_cast<long>(n), c ? "yes" : "no", t, gf, pk > 0 ? 100 * gf / pk : 0.0,
                        flops / tm.max / 1e9, flops / tm.min / 1e9, naive_gf, naive_gf > 0 ? gf / naive_gf : 0.0);
            std::fflush(stdout);
          }
  std::printf("# FLOPs: 4*B*H*Nq*Nk*D (causal: visible pairs only); naive = OpenBLAS sgemm, softmax, sgemm (f32)\n");
  return 0;
}

}  // namespace attend::bench
