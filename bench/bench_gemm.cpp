// attend bench --gemm: the model runtime's matrix products at GPT-2-small prefill shapes (1024
// tokens × the four weight products of a layer, the unembedding, and the two gradient products of
// a layer's MLP) through kernels::gemm (what the runtime runs) and OpenBLAS's sgemm in the same
// run, as GFLOP/s and the fraction of this machine's FMA peak measured in the same run. Then the
// prefill products with bf16 weights: kernels::gemm_bf16 (activations rounded to bf16, vdpbf16ps)
// against the bf16 dot peak measured in the same run, and matmul_weight's f32-activation path for
// the same bf16 weights (W converted to f32 panels, then kernels::gemm) as the baseline.
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
#include "kernels/gemm_bf16.h"
#include "nn/weight.h"

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

// The prefill products of kCases (those with A as stored) with B a bf16 weight in both stored
// layouts: [K, N] (GPT-2's Conv1D) and [N, K] (nn.Linear, Llama, the unembedding).
void run_bf16(const BenchCommon& c) {
  std::map<int, double> peak;
  for (int t : c.threads) {
    peak[t] = measure_bf16_peak_gflops(t);
    std::printf("# bf16 dot peak (vdpbf16ps), %d thread(s): %.1f GFLOP/s\n", t, peak[t]);
  }
  if (peak.empty() || peak.begin()->second <= 0) {
    std::printf("# no AVX512-BF16 on this machine: gemm_bf16 runs its portable reference path, not timed\n");
    return;
  }
  std::printf("%-14s %6s %6s %6s %6s %3s %10s %7s %10s %7s\n", "bf16 weights", "M", "N", "K", "B", "thr", "gemm_bf16", "% bf16",
              "f32 acts", "ratio");
  std::mt19937 g(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int before = num_threads();
  for (const Case& k : kCases) {
    if (k.trans_a || (k.trans_b && k.N < 50000)) continue;  // the prefill products (dx's dy·Wᵀ is a gradient)
    std::vector<float> a(static_cast<std::size_t>(k.M * k.K)), cm(static_cast<std::size_t>(k.M * k.N));
    std::vector<std::uint16_t> b(static_cast<std::size_t>(k.K * k.N));
    for (float& v : a) v = u(g);
    for (std::uint16_t& v : b) v = f32_to_bf16(u(g));
    const double flops = 2.0 * static_cast<double>(k.M) * static_cast<double>(k.N) * static_cast<double>(k.K);
    for (bool out_rows : {false, true}) {
      if (k.trans_b && !out_rows) continue;  // the unembedding is stored [V, E] only
      kernels::GemmBf16Problem p;
      p.M = k.M, p.N = k.N, p.K = k.K, p.a = a.data(), p.lda = k.K, p.c = cm.data(), p.ldc = k.N;
      p.b = {b.data(), out_rows ? k.K : k.N, out_rows, nullptr};
      const nn::WeightView w{b.data(), DType::bf16, out_rows ? k.N : k.K, out_rows ? k.K : k.N, out_rows ? k.K : k.N, out_rows};
      for (int t : c.threads) {
        set_num_threads(t);
        const Timing ours = time_runs(c.runs, [&] { kernels::gemm_bf16(p, t); });
        const Timing base = time_runs(c.runs, [&] { nn::matmul_weight(a.data(), k.M, w, cm.data()); });
        const double go = flops / ours.median / 1e9, gb = flops / base.median / 1e9;
        std::printf("%-14s %6lld %6lld %6lld %6s %3d %10.1f %6.0f%% %10.1f %6.2fx\n", k.name, static_cast<long long>(k.M),
                    static_cast<long long>(k.N), static_cast<long long>(k.K), out_rows ? "[N,K]" : "[K,N]", t, go,
                    100.0 * go / peak[t], gb, go / gb);
      }
    }
  }
  set_num_threads(before);
}

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
  run_bf16(c);
  return 0;
}

const bool registered = register_bench_mode(
    "--gemm", "the runtime's matrix products (GPT-2-small prefill and gradient shapes) against OpenBLAS and the FMA peak", run);

}  // namespace
}  // namespace attend::bench
