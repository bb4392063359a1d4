// attend bench --backward: GFLOP/s of the backward (2.5x the forward's FLOPs), % of the measured
// FMA peak, and peers measured in the same run: the backward with opts.deterministic, the forward
// (same shape, its own FLOPs) and the naive OpenBLAS backward.
#include <cstdio>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "bench/peak.h"
#include "bench/naive_sdpa.h"

namespace attend::bench {
namespace {

int run_backward_bench(const BenchCommon& c) {
  std::vector<std::int64_t> ns = c.ns_given ? c.ns : std::vector<std::int64_t>{1024, 4096};
  std::vector<std::int64_t> ds = c.ds_given ? c.ds : std::vector<std::int64_t>{128};
  if (c.quick) { ns = {512}; ds = {64}; }
  std::printf("# attend bench --backward — isa %s, runs %d (median, min–max); FLOPs = 2.5 x forward\n",
              std::string(isa_name(active_isa())).c_str(), c.runs);
  std::printf("%4s %6s %6s %3s | %9s %7s %17s | %9s %9s %8s | %9s %7s\n", "D", "N", "causal", "thr", "GFLOP/s", "%peak", "min–max",
              "determ.", "forward", "bwd/fwd", "naive", "ratio");
  std::vector<float> p, dp;
  for (int t : c.threads) {
    const double peak = measure_fma_peak_gflops(t, active_isa());
    for (std::int64_t d : ds)
      for (std::int64_t n : ns)
        for (int causal : c.causal) {
          const std::int64_t H = c.heads;
          Tensor q(DType::f32, {1, H, n, d}), k(DType::f32, {1, H, n, d}), v(DType::f32, {1, H, n, d}), dout(DType::f32, {1, H, n, d});
          Tensor out(DType::f32, {1, H, n, d}), lse(DType::f32, {1, H, n});
          Tensor dq(DType::f32, {1, H, n, d}), dk(DType::f32, {1, H, n, d}), dv(DType::f32, {1, H, n, d});
          fill_random(q, 1); fill_random(k, 2); fill_random(v, 3); fill_random(dout, 4);
          auto bshd = [](const Tensor& x) { return x.view().permuted(0, 2, 1, 3); };
          AttentionOptions opts;
          opts.causal = causal != 0;
          opts.threads = t;
          attention(bshd(q), bshd(k), bshd(v), bshd(out), opts, lse.view());
          const double flops = 2.5 * attention_flops(1, H, n, n, d, d, opts);
          const Timing tm = time_runs(c.runs, [&] {
            attention_backward(bshd(q), bshd(k), bshd(v), bshd(out), bshd(dout), lse.view(), {bshd(dq), bshd(dk), bshd(dv), {}}, opts);
          });
          AttentionOptions det = opts;
          det.deterministic = true;
          const Timing td = time_runs(c.runs, [&] {
            attention_backward(bshd(q), bshd(k), bshd(v), bshd(out), bshd(dout), lse.view(), {bshd(dq), bshd(dk), bshd(dv), {}}, det);
          });
          const Timing tf = time_runs(c.runs, [&] { attention(bshd(q), bshd(k), bshd(v), bshd(out), opts, lse.view()); });
          set_blas_threads(t);
          const Timing tn = time_runs(c.runs, [&] {
            naive_sdpa_backward(q.data_as<float>(), k.data_as<float>(), v.data_as<float>(), out.data_as<float>(), dout.data_as<float>(),
                                dq.data_as<float>(), dk.data_as<float>(), dv.data_as<float>(), H, n, d, opts.causal, p, dp);
          });
          const double gf = flops / tm.median / 1e9, ngf = flops / tn.median / 1e9, dgf = flops / td.median / 1e9;
          const double fgf = flops / 2.5 / tf.median / 1e9;
          std::printf("%4ld %6ld %6s %3d | %9.1f %6.1f%% %8.1f–%-8.1f | %9.1f %9.1f %7.2fx | %9.1f %6.2fx\n", static_cast<long>(d),
                      static_cast<long>(n), causal ? "yes" : "no", t, gf, 100 * gf / peak, flops / tm.max / 1e9, flops / tm.min / 1e9,
                      dgf, fgf, gf / fgf, ngf, gf / ngf);
          std::fflush(stdout);
        }
  }
  std::printf("# determ. = the same backward with opts.deterministic; forward = attention() GFLOP/s (its own FLOPs);\n"
              "# bwd/fwd = backward GFLOP/s over forward GFLOP/s\n");
  std::printf("# naive = OpenBLAS backward through the full N x N matrices (P recomputed), f32\n");
  return 0;
}

const bool registered = register_bench_mode("--backward", "benchmark attention_backward (and a naive OpenBLAS backward)", run_backward_bench);

}  // namespace
}  // namespace attend::bench
