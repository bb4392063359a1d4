// attend bench: GFLOP/s and fraction of the measured FMA peak for the forward kernel, next to the
// naive OpenBLAS baseline measured in the same process.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench_modes.h"
#include "bench_util.h"
#include "command.h"
#include "core/peak.h"
#include "naive_sdpa.h"

namespace attend::cli {
namespace {

struct ModeEntry { std::string help; BenchMode run; };
std::map<std::string, ModeEntry>& modes() {
  static std::map<std::string, ModeEntry> m;
  return m;
}

}  // namespace

bool register_bench_mode(const std::string& flag, const std::string& help, BenchMode run) {
  modes()[flag] = ModeEntry{help, std::move(run)};
  return true;
}

namespace {

struct BenchArgs {
  bool peak_only = false, quick = false, no_baseline = false;
  std::vector<std::int64_t> ns{512, 1024, 2048, 4096, 8192};
  std::vector<std::int64_t> ds{64, 128};
  std::vector<int> threads{1, 2};
  std::vector<std::string> dtypes{"f32", "bf16"};
  std::vector<int> causal{0, 1};
  std::int64_t heads = 8;
  int runs = 5;
  std::map<std::string, bool> mode_on;  // registered modes chosen on the command line
  bool ns_given = false, ds_given = false, dtypes_given = false;
};

int run_bench(BenchArgs a) {
  for (auto& [flag, on] : a.mode_on)
    if (on) {
      BenchCommon c{a.ns, a.ds, a.threads, a.dtypes, a.causal, a.heads, a.runs, a.quick, a.ns_given, a.ds_given, a.dtypes_given};
      return modes()[flag].run(c);
    }
  std::printf("# attend bench — isa %s, runs %d (median, min–max)\n", std::string(isa_name(active_isa())).c_str(), a.runs);
  std::printf("# caches per core: L1d %lld KiB, L2 %lld KiB (the forward's key tiles follow L2)\n",
              static_cast<long long>(cache_sizes().l1d >> 10), static_cast<long long>(cache_sizes().l2 >> 10));
  std::vector<double> peak(3, 0.0), peak16(3, 0.0);
  for (int t : a.threads) {
    peak[static_cast<std::size_t>(t)] = core::measure_fma_peak_gflops(t, active_isa());
    peak16[static_cast<std::size_t>(t)] = core::measure_bf16_peak_gflops(t);
    std::printf("# measured FMA peak, %d thread(s): f32 %.1f GFLOP/s, bf16 %.1f GFLOP/s\n", t,
                peak[static_cast<std::size_t>(t)], peak16[static_cast<std::size_t>(t)]);
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
            const double pk = (dtype == DType::bf16 ? peak16 : peak)[static_cast<std::size_t>(t)];
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

const bool registered = register_command("bench", "benchmark the forward kernel against the measured peak and a naive baseline", [](CLI::App& sub) {
  auto a = std::make_shared<BenchArgs>();
  sub.add_flag("--peak", a->peak_only, "only measure this machine's FMA peak (f32 and bf16)");
  sub.add_flag("--quick", a->quick, "a small sweep (for smoke tests)");
  sub.add_flag("--no-baseline", a->no_baseline, "skip the naive OpenBLAS baseline");
  sub.add_option("--n", a->ns, "sequence lengths")->delimiter(',')->each([a](const std::string&) { a->ns_given = true; });
  sub.add_option("--d", a->ds, "head sizes")->delimiter(',')->each([a](const std::string&) { a->ds_given = true; });
  sub.add_option("--threads", a->threads, "thread counts (1 or 2 on this machine)")->delimiter(',')->check(CLI::Range(1, 2));
  sub.add_option("--dtype", a->dtypes, "dtypes")->delimiter(',')->check(CLI::IsMember({"f32", "bf16", "f16"}))->each([a](const std::string&) { a->dtypes_given = true; });
  sub.add_option("--causal", a->causal, "causal settings to sweep (0,1)")->delimiter(',');
  sub.add_option("--heads", a->heads, "heads")->check(CLI::PositiveNumber);
  sub.add_option("--runs", a->runs, "timed runs per point")->check(CLI::PositiveNumber);
  for (auto& [flag, entry] : modes()) sub.add_flag(flag, a->mode_on[flag], entry.help);
  return [a] { return run_bench(*a); };
});

}  // namespace
}  // namespace attend::cli
