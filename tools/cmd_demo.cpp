// attend demo: the engine end to end on built-in data — attention checked against the double
// reference, the seed's worked example, and the speed of the fused kernel.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_util.h"
#include "command.h"
#include "graph_demo.h"
#include "model_cli.h"

namespace attend::cli {
using bench::fill_random;
using bench::time_runs;
using bench::Timing;
namespace {

double rel_l2(const Tensor& a, const Tensor& b) {
  std::vector<float> x(static_cast<std::size_t>(a.numel())), y(x.size());
  convert_to_f32(a.data(), a.dtype(), x.data(), x.size());
  convert_to_f32(b.data(), b.dtype(), y.data(), y.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    den += static_cast<double>(y[i]) * y[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

// Sharp attention from hand-built Q, K, V ("the cat sat down"): K = 8·I and each query pointing at
// its target's key put 94.8 % of the weight on the target (the worked example of the "Attention
// Mechanism" notes, methods-of-ai).
int sharp_example() {
  const char* words[4] = {"the", "cat", "sat", "down"};
  const int target[4] = {1, 2, 1, 2};
  Tensor q(DType::f32, {1, 4, 1, 4}), k(DType::f32, {1, 4, 1, 4}), v(DType::f32, {1, 4, 1, 4}), o(DType::f32, {1, 4, 1, 4});
  for (int i = 0; i < 16; ++i) { q.data_as<float>()[i] = 0; k.data_as<float>()[i] = 0; v.data_as<float>()[i] = 0; }
  for (int i = 0; i < 4; ++i) {
    q.data_as<float>()[i * 4 + target[i]] = 1;  // each query points at its target's key
    k.data_as<float>()[i * 4 + i] = 8;          // K = 8·I: distinct, strong keys
    v.data_as<float>()[i * 4 + i] = 1;          // V = I: the output shows what was absorbed
  }
  attention(q.view(), k.view(), v.view(), o.view());
  std::printf("sharp attention from hand-built keys (K = 8·I; Z = A·V with V = I):\n");
  for (int i = 0; i < 4; ++i) {
    std::printf("  %-5s ->", words[i]);
    for (int j = 0; j < 4; ++j) std::printf(" %5.1f%%", 100 * o.data_as<float>()[i * 4 + j]);
    std::printf("   (attends to '%s')\n", words[target[i]]);
  }
  return 0;
}

int run_demo(int threads) {
  std::printf("attend demo — SIMD path %s, %d thread(s)\n\n", std::string(isa_name(active_isa())).c_str(),
              threads > 0 ? threads : num_threads());
  sharp_example();

  std::printf("\nfused kernel vs the double-precision reference (B=2, N=257, Hq=8, Hkv=2, D=64):\n");
  struct Case { const char* name; DType dt; bool causal; std::int64_t win; float softcap; };
  const Case cases[] = {{"f32", DType::f32, false, -1, 0}, {"f32 causal", DType::f32, true, -1, 0},
                        {"f32 window 32 + softcap 30", DType::f32, true, 32, 30}, {"bf16 causal", DType::bf16, true, -1, 0},
                        {"f16", DType::f16, false, -1, 0}};
  for (const Case& c : cases) {
    Tensor q(c.dt, {2, 257, 8, 64}), k(c.dt, {2, 257, 2, 64}), v(c.dt, {2, 257, 2, 64});
    Tensor o(DType::f32, {2, 257, 8, 64}), r(DType::f32, {2, 257, 8, 64});
    fill_random(q, 11); fill_random(k, 12); fill_random(v, 13);
    AttentionOptions opts;
    opts.causal = c.causal;
    opts.window_left = c.win;
    opts.softcap = c.softcap;
    opts.threads = threads;
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    reference::attention(q.view(), k.view(), v.view(), r.view(), opts);
    std::printf("  %-28s relative L2 error %.2e\n", c.name, rel_l2(o, r));
  }

  std::printf("\nspeed (f32, N=2048, H=8, D=128, %d thread(s)):\n", threads > 0 ? threads : num_threads());
  for (bool causal : {false, true}) {
    Tensor q(DType::f32, {1, 2048, 8, 128}), k(DType::f32, {1, 2048, 8, 128}), v(DType::f32, {1, 2048, 8, 128}), o(DType::f32, {1, 2048, 8, 128});
    fill_random(q, 1); fill_random(k, 2); fill_random(v, 3);
    AttentionOptions opts;
    opts.causal = causal;
    opts.threads = threads;
    const Timing t = time_runs(3, [&] { attention(q.view(), k.view(), v.view(), o.view(), opts); });
    std::printf("  %-10s %7.2f ms  %6.1f GFLOP/s\n", causal ? "causal" : "full", t.median * 1e3,
                attention_flops(1, 8, 2048, 2048, 128, 128, opts) / t.median / 1e9);
  }
  // ---- model runtime (tools/model_demo.cpp): train, evaluate and save a small induction model ----
  int rc = run_model_demo(threads);
  // ---- attention on graphs and as dynamics: tools/cmd_graph_demo.cpp, tools/search_demo.cpp ----
  std::printf("\nattention on graphs and as dynamics (also: attend graph-demo)\n");
  rc |= run_graph_demo("attend-demo");
  SemconDemoOptions semcon;
  semcon.fit_steps = 1500;
  rc |= run_semcon_demo(semcon);
  rc |= run_search_demo(threads, "attend-demo");
  return rc;
}

const bool registered = register_command("demo", "the engine end to end on built-in data", [](CLI::App& sub) {
  auto threads = std::make_shared<int>(0);
  sub.add_option("--threads", *threads, "worker threads (0 = all)")->check(CLI::NonNegativeNumber);
  return [threads] { return run_demo(*threads); };
});

}  // namespace
}  // namespace attend::cli
