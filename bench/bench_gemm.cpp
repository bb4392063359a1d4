// attend bench --gemm: the model runtime's matrix products at GPT-2-small prefill shapes (1024
// tokens × the four weight products of a layer, the unembedding, and the two gradient products of
// a layer's MLP) through kernels::gemm (what the runtime runs) and OpenBLAS's sgemm in the same
// run, as GFLOP/s and the fraction of this machine's FMA peak measured in the same run.
#include <cblas.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "bench/peak.h"
#include "kernels/gemm.h"

namespace attend::bench {
namespace {

using I64 = std::int64_t;

struct Case {
  const char* name;
  I64 M, N, K;
  bool trans_a, trans_b;  // A stored [K, M] / B stored [N, K]
};

const Case kCases[] = {
    {"qkv    x·W", 1024, 2304, 768, false, false},     {"proj   x·W", 1024, 768, 768, false, false},
    {"mlp up x·W", 1024, 3072, 768, false, false},     {"mlp dn x·W", 1024, 768, 3072, false, false},
    {"unembed x·Eᵀ", 1024, 50257, 768, false, true},   {"dx = dy·Wᵀ", 1024, 768, 3072, false, true},
    {"dW = xᵀ·dy", 768, 3072, 1024, true, false},
};

int run(const BenchCommon& c) {
  std::printf("# attend bench --gemm: GPT-2-small prefill/training products (1024 tokens); isa %s; OpenBLAS core %s\n",
              std::string(isa_name(active_isa())).c_str(), openblas_get_corename());
  std::printf("# GFLOP/s: median of %d runs (2·M·N·K per product); %% of the FMA peak measured now\n", c.runs);
  std::map<int, double> peak;
  for (int t : c.threads) {
    peak[t] = measure_fma_peak_gflops(t, active_isa());
    std::printf("# FMA peak, %d thread(s): %.1f GFLOP/s\n", t, peak[t]);
  }
  std::printf("%-14s %6s %6s %6s %3s %10s %7s %10s %7s %7s\n", "product", "M", "N", "K", "thr", "attend", "% peak", "openblas",
              "% peak", "ratio");
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int before = num_threads();
  for (const Case& k : kCases) {
    std::vector<float> a(static_cast<std::size_t>(k.M * k.K)), b(static_cast<std::size_t>(k.K * k.N)), cm(static_cast<std::size_t>(k.M * k.N));
    for (float& v : a) v = u(g);
    for (float& v : b) v = u(g);
    const I64 lda = k.trans_a ? k.M : k.K, ldb = k.trans_b ? k.K : k.N;
    kernels::GemmProblem p;
    p.M = k.M, p.N = k.N, p.K = k.K;
    p.a = k.trans_a ? kernels::GemmOperand{a.data(), 1, lda} : kernels::GemmOperand{a.data(), lda, 1};
    p.b = k.trans_b ? kernels::GemmOperand{b.data(), 1, ldb} : kernels::GemmOperand{b.data(), ldb, 1};
    p.c = cm.data(), p.ldc = k.N;
    const double flops = 2.0 * static_cast<double>(k.M) * static_cast<double>(k.N) * static_cast<double>(k.K);
    for (int t : c.threads) {
      set_num_threads(t);
      const Timing ours = time_runs(c.runs, [&] { kernels::gemm(p, t); });
      openblas_set_num_threads(t);
      const Timing blas = time_runs(c.runs, [&] {
        cblas_sgemm(CblasRowMajor, k.trans_a ? CblasTrans : CblasNoTrans, k.trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(k.M),
                    static_cast<int>(k.N), static_cast<int>(k.K), 1.0f, a.data(), static_cast<int>(lda), b.data(), static_cast<int>(ldb),
                    0.0f, cm.data(), static_cast<int>(k.N));
      });
      openblas_set_num_threads(1);
      const double go = flops / ours.median / 1e9, gb = flops / blas.median / 1e9;
      std::printf("%-14s %6lld %6lld %6lld %3d %10.1f %6.0f%% %10.1f %6.0f%% %6.2fx\n", k.name, static_cast<long long>(k.M),
                  static_cast<long long>(k.N), static_cast<long long>(k.K), t, go, 100.0 * go / peak[t], gb, 100.0 * gb / peak[t], go / gb);
    }
  }
  set_num_threads(before);
  return 0;
}

const bool registered = register_bench_mode(
    "--gemm", "the runtime's matrix products (GPT-2-small prefill and gradient shapes) against OpenBLAS and the FMA peak", run);

}  // namespace
}  // namespace attend::bench
