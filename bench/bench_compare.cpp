// attend bench --compare: in one run, attend's forward against the naive OpenBLAS baseline and,
// where /usr/bin/python3 has torch, PyTorch's scaled-dot-product attention (a subprocess with
// torch.set_num_threads(T)), with ratios. Same shapes, same thread count, f32, [B, H, N, D].
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

// Prints the median seconds of `runs` timed calls (after one warm-up) of torch SDPA on random
// [1, H, N, D] f32 inputs; uses torch 1.13's _scaled_dot_product_attention when present, the
// explicit math (what it runs on CPU) otherwise. No single quotes: passed to the shell in '...'.
constexpr const char* kTorchScript = R"PY(
import sys, time, statistics
import torch
import torch.nn.functional as F
h, n, d, causal, t, runs = (int(a) for a in sys.argv[1:7])
torch.set_num_threads(t)
torch.manual_seed(0)
q, k, v = (torch.rand(1, h, n, d) * 2 - 1 for _ in range(3))
mask = torch.ones(n, n, dtype=torch.bool).tril() if causal else None
def sdpa():
    if hasattr(F, "_scaled_dot_product_attention"):
        return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, bool(causal))[0]
    s = (q @ k.transpose(-2, -1)) * d ** -0.5
    if causal:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v
with torch.no_grad():
    sdpa()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter(); sdpa(); ts.append(time.perf_counter() - t0)
print(statistics.median(ts))
)PY";

// Median seconds from the torch subprocess, or 0 when python/torch is unavailable.
double time_torch(std::int64_t h, std::int64_t n, std::int64_t d, bool causal, int threads, int runs) {
  const std::string cmd = "/usr/bin/python3 -c '" + std::string(kTorchScript) + "' " + std::to_string(h) + " " +
                          std::to_string(n) + " " + std::to_string(d) + " " + (causal ? "1" : "0") + " " +
                          std::to_string(threads) + " " + std::to_string(runs) + " 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return 0;
  double secs = 0;
  if (std::fscanf(f, "%lf", &secs) != 1) secs = 0;
  pclose(f);
  return secs;
}

int run_compare(const BenchCommon& c) {
  const std::vector<std::int64_t> ns = c.ns_given ? c.ns : std::vector<std::int64_t>{1024, 4096};
  const std::vector<std::int64_t> ds = c.ds_given ? c.ds : std::vector<std::int64_t>{128};
  std::printf("# attend bench --compare — isa %s, f32, H=%ld, runs %d (median GFLOP/s)\n",
              std::string(isa_name(active_isa())).c_str(), static_cast<long>(c.heads), c.runs);
  std::printf("%4s %6s %6s %3s | %9s %7s | %9s %9s | %9s %9s\n", "D", "N", "causal", "thr", "attend", "%peak",
              "naive", "attend/x", "torch", "attend/x");
  std::vector<float> scores;
  for (int t : c.threads) {
    const double peak = measure_fma_peak_gflops(t, active_isa());
    for (std::int64_t d : ds)
      for (std::int64_t n : ns)
        for (int causal : c.causal) {
          const std::int64_t H = c.heads;
          Tensor q(DType::f32, {1, H, n, d}), k(DType::f32, {1, H, n, d}), v(DType::f32, {1, H, n, d}), o(DType::f32, {1, H, n, d});
          fill_random(q, 1); fill_random(k, 2); fill_random(v, 3);
          auto bshd = [](const Tensor& x) { return x.view().permuted(0, 2, 1, 3); };
          AttentionOptions opts;
          opts.causal = causal != 0;
          opts.threads = t;
          const double flops = attention_flops(1, H, n, n, d, d, opts);
          const Timing ta = time_runs(c.runs, [&] { attention(bshd(q), bshd(k), bshd(v), bshd(o), opts); });
          set_blas_threads(t);
          const Timing tn = time_runs(c.runs, [&] {
            naive_sdpa(q.data_as<float>(), k.data_as<float>(), v.data_as<float>(), o.data_as<float>(), H, n, n, d, d,
                       opts.causal, scores);
          });
          const double ts = time_torch(H, n, d, opts.causal, t, c.runs);
          const double ga = flops / ta.median / 1e9, gn = flops / tn.median / 1e9, gt = ts > 0 ? flops / ts / 1e9 : 0;
          std::printf("%4ld %6ld %6s %3d | %9.1f %6.1f%% | %9.1f %8.2fx | ", static_cast<long>(d), static_cast<long>(n),
                      causal ? "yes" : "no", t, ga, peak > 0 ? 100 * ga / peak : 0.0, gn, ga / gn);
          if (gt > 0) std::printf("%9.1f %8.2fx\n", gt, ga / gt);
          else std::printf("%9s %9s\n", "n/a", "-");
          std::fflush(stdout);
        }
  }
  std::printf("# FLOPs: 4*B*H*Nq*Nk*D (causal: visible pairs only); naive = OpenBLAS sgemm, softmax, sgemm;\n"
              "# torch = PyTorch scaled-dot-product attention in a /usr/bin/python3 subprocess, same threads\n");
  return 0;
}

const bool registered = register_bench_mode(
    "--compare", "attend vs the naive OpenBLAS baseline vs PyTorch SDPA (subprocess), with ratios", run_compare);

}  // namespace
}  // namespace attend::bench
