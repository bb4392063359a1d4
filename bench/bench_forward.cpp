// The forward sweep of `attend bench`: GFLOP/s and fraction of the measured FMA peak for the forward
// kernel, next to the naive OpenBLAS baseline measured in the same process.
#include <algorithm>
#include <cmath>
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

namespace {

struct Point {
  std::string dtype;
  std::int64_t d = 0, n = 0;
  bool causal = false;
  int threads = 0;
  double gflops = 0, percent_of_peak = 0, gflops_min = 0, gflops_max = 0, naive_gflops = 0, ratio = 0;
};

// A JSON number (null when not finite: JSON has no inf or nan).
std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

void print_point(const std::string& format, const Point& p) {
  if (format == "text")
    std::printf("%-5s %4ld %6ld %6s %3d | %9.1f %6.1f%% %7.1f–%-7.1f | %9.1f %6.2fx\n", p.dtype.c_str(),
                static_cast<long>(p.d), static_cast<long>(p.n), p.causal ? "yes" : "no", p.threads, p.gflops, p.percent_of_peak,
                p.gflops_min, p.gflops_max, p.naive_gflops, p.ratio);
  else if (format == "csv") {
    char naive[64] = ",";  // empty fields without the baseline (--no-baseline)
    if (p.naive_gflops > 0) std::snprintf(naive, sizeof naive, "%.6g,%.6g", p.naive_gflops, p.ratio);
    std::printf("%s,%ld,%ld,%d,%d,%.6g,%.6g,%.6g,%.6g,%s\n", p.dtype.c_str(), static_cast<long>(p.d), static_cast<long>(p.n),
                p.causal ? 1 : 0, p.threads, p.gflops, p.percent_of_peak, p.gflops_min, p.gflops_max, naive);
  }
  std::fflush(stdout);
}

}  // namespace

// Output: text (a table with # notes), csv (a header line, one line per point) or json (one object:
// isa, runs, caches, peaks by thread count, points, disturbed). With csv and json the notes go to
// stderr, so stdout is the data alone.
int run_forward_sweep(BenchCommon a) {
  const bool text = a.format == "text";
  FILE* notes = text ? stdout : stderr;
  const std::string isa(isa_name(active_isa()));
  std::fprintf(notes, "# attend bench — isa %s, runs %d (median, min–max)\n", isa.c_str(), a.runs);
  std::fprintf(notes, "# caches per core: L1d %lld KiB, L2 %lld KiB (the forward's key tiles follow L2)\n",
               static_cast<long long>(cache_sizes().l1d >> 10), static_cast<long long>(cache_sizes().l2 >> 10));
  std::map<int, double> peak, peak16;  // by thread count
  for (int t : a.threads) {
    peak[t] = measure_fma_peak_gflops(t, active_isa());
    peak16[t] = measure_bf16_peak_gflops(t);
    std::fprintf(notes, "# measured FMA peak, %d thread(s): f32 %.1f GFLOP/s, bf16 %.1f GFLOP/s\n", t, peak[t], peak16[t]);
  }
  std::vector<Point> points;
  if (!a.peak_only) {
    if (a.quick) { a.ns = {512, 2048}; a.ds = {128}; a.dtypes = {"f32"}; a.runs = 3; }
    if (text)
      std::printf("%-5s %4s %6s %6s %3s | %9s %7s %15s | %9s %7s\n", "dtype", "D", "N", "causal", "thr",
                  "GFLOP/s", "%peak", "min–max", "naive", "ratio");
    else if (a.format == "csv")
      std::printf("dtype,d,n,causal,threads,gflops,percent_of_peak,gflops_min,gflops_max,naive_gflops,ratio_to_naive\n");
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
              Point p;
              p.dtype = dt, p.d = d, p.n = n, p.causal = c != 0, p.threads = t;
              p.gflops = flops / tm.median / 1e9;
              const double pk = (dtype == DType::bf16 ? peak16 : peak)[t];
              p.percent_of_peak = pk > 0 ? 100 * p.gflops / pk : 0.0;
              p.gflops_min = flops / tm.max / 1e9, p.gflops_max = flops / tm.min / 1e9;
              if (!a.no_baseline) {
                Tensor qf(DType::f32, {a.heads, n, d}), kf(DType::f32, {a.heads, n, d}), vf(DType::f32, {a.heads, n, d}),
                    of(DType::f32, {a.heads, n, d});
                fill_random(qf, 1); fill_random(kf, 2); fill_random(vf, 3);
                set_blas_threads(t);
                const Timing tn = time_runs(a.runs, [&] {
                  naive_sdpa(qf.data_as<float>(), kf.data_as<float>(), vf.data_as<float>(), of.data_as<float>(), a.heads, n, n, d, d,
                             opts.causal, scores);
                });
                p.naive_gflops = flops / tn.median / 1e9;
                p.ratio = p.gflops / p.naive_gflops;
              }
              print_point(a.format, p);
              points.push_back(p);
            }
    std::fprintf(notes, "# FLOPs: 4*B*H*Nq*Nk*D (causal: visible pairs only); naive = OpenBLAS sgemm, softmax, sgemm (f32)\n");
  }
  int above = 0;
  double worst = 0;
  for (const Point& p : points) {
    above += p.percent_of_peak > 100;
    worst = std::max(worst, p.percent_of_peak);
  }
  if (a.format == "json") {
    std::string j = "{\"isa\": \"" + isa + "\", \"runs\": " + std::to_string(a.runs) +
                    ", \"l1d_kib\": " + std::to_string(cache_sizes().l1d >> 10) + ", \"l2_kib\": " + std::to_string(cache_sizes().l2 >> 10) +
                    ", \"peak_gflops\": [";
    for (auto it = peak.begin(); it != peak.end(); ++it)
      j += std::string(it == peak.begin() ? "" : ", ") + "{\"threads\": " + std::to_string(it->first) + ", \"f32\": " +
           json_number(it->second) + ", \"bf16\": " + json_number(peak16[it->first]) + "}";
    j += "], \"points\": [";
    for (std::size_t i = 0; i < points.size(); ++i) {
      const Point& p = points[i];
      j += std::string(i ? ", " : "") + "{\"dtype\": \"" + p.dtype + "\", \"d\": " + std::to_string(p.d) + ", \"n\": " +
           std::to_string(p.n) + ", \"causal\": " + (p.causal ? "true" : "false") + ", \"threads\": " + std::to_string(p.threads) +
           ", \"gflops\": " + json_number(p.gflops) + ", \"percent_of_peak\": " + json_number(p.percent_of_peak) +
           ", \"gflops_min\": " + json_number(p.gflops_min) + ", \"gflops_max\": " + json_number(p.gflops_max) +
           ", \"naive_gflops\": " + (a.no_baseline ? "null" : json_number(p.naive_gflops)) +
           ", \"ratio_to_naive\": " + (a.no_baseline ? "null" : json_number(p.ratio)) + "}";
    }
    j += std::string("], \"disturbed\": ") + (above > 0 ? "true" : "false") + "}";
    std::printf("%s\n", j.c_str());
  }
  warn_if_disturbed("FMA peak", above, static_cast<int>(points.size()), worst);
  return 0;
}

}  // namespace attend::bench
