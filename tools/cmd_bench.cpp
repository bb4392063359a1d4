// attend bench: the forward sweep (bench/bench_forward.cpp) or one of the modes registered in
// bench/ (--backward, --decode, --model, --capture, --compare).
#include <map>
#include <memory>
#include <string>

#include "bench/bench_modes.h"
#include "command.h"

namespace attend::cli {
namespace {

struct BenchArgs {
  bench::BenchCommon common;
  std::map<std::string, bool> mode_on;  // registered modes chosen on the command line
  bool json = false, csv = false;
};

int run_bench(BenchArgs a) {
  if (a.json) a.common.format = "json";
  if (a.csv) a.common.format = "csv";
  for (const bench::BenchModeEntry& m : bench::bench_modes())
    if (a.mode_on.at(m.flag)) {
      if (a.common.format == "csv" || (a.common.format == "json" && !m.json))
        throw UsageError("--" + a.common.format + " is for the forward sweep (attend bench without a mode); " + m.flag + (m.json ? " prints text or --json" : " prints text"));
      return m.run(a.common);
    }
  return bench::run_forward_sweep(a.common);
}

const bool registered = register_command("bench", "benchmark the forward kernel against the measured peak and a naive baseline", [](CLI::App& sub) {
  auto a = std::make_shared<BenchArgs>();
  sub.add_flag("--peak", a->common.peak_only, "only measure this machine's FMA peak (f32 and bf16)");
  sub.add_flag("--quick", a->common.quick, "a small sweep (for smoke tests)");
  sub.add_flag("--no-baseline", a->common.no_baseline, "skip the naive OpenBLAS baseline");
  sub.add_option("--n", a->common.ns, "sequence lengths")->delimiter(',')->each([a](const std::string&) { a->common.ns_given = true; });
  sub.add_option("--d", a->common.ds, "head sizes")->delimiter(',')->each([a](const std::string&) { a->common.ds_given = true; });
  sub.add_option("--threads", a->common.threads, "thread counts to sweep")->delimiter(',')->check(CLI::Range(1, 1024));
  sub.add_option("--dtype", a->common.dtypes, "dtypes")->delimiter(',')->check(CLI::IsMember({"f32", "bf16", "f16"}))->each([a](const std::string&) { a->common.dtypes_given = true; });
  sub.add_option("--causal", a->common.causal, "causal settings to sweep (0,1)")->delimiter(',');
  sub.add_option("--heads", a->common.heads, "heads")->check(CLI::PositiveNumber);
  sub.add_option("--runs", a->common.runs, "timed runs per point")->check(CLI::PositiveNumber);
  // The runtime benchmarks against llama.cpp and torch (--prefill, --generate, --train, --write-gguf, --machine).
  sub.add_option("--file", a->common.file, "--prefill/--generate: the GGUF model; --write-gguf: the file to write");
  sub.add_option("--shape", a->common.shape, "--write-gguf/--train: gpt2-small | llama-1b | tiny | train-6x256 | train-4x128");
  sub.add_option("--weights", a->common.weights, "--write-gguf: the weight format")->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  sub.add_option("--kv-cache", a->common.kv_cache, "--generate: the KV cache's dtype (f32 exact; f16/bf16 half the bytes)")->check(CLI::IsMember({"f32", "f16", "bf16"}));
  sub.add_flag("--exact-q8", a->common.exact_q8, "--generate: q8_0 decode products with f32 activations (default: int8 activations, attend/runtime.h)");
  sub.add_option("--text", a->common.text, "--train: the byte-level training text");
  sub.add_option("--tokens", a->common.tokens, "--prefill: prompt tokens; --generate: the context reached")->check(CLI::PositiveNumber);
  sub.add_option("--new-tokens", a->common.new_tokens, "--generate: timed decoded tokens")->check(CLI::PositiveNumber);
  sub.add_option("--batch", a->common.batch, "--train: sequences per step")->check(CLI::PositiveNumber);
  sub.add_option("--sequences", a->common.sequences, "--generate: also decode S sequences together (BatchDecoder), for each S > 1 given")
      ->check(CLI::Range(1, 64));
  sub.add_flag("--no-instruments", a->common.no_instruments, "--prefill/--generate/--train: do not measure the FMA peak or read bandwidth");
  sub.add_flag("--bf16-activations", a->common.bf16_activations,
               "--prefill/--generate: bf16 weights' prefill products round activations to bf16 (vdpbf16ps; LoadOptions::bf16_activations)");
  sub.add_option("--steps", a->common.steps, "--train: timed optimizer steps per run")->check(CLI::PositiveNumber);
  CLI::Option* json = sub.add_flag("--json", a->json, "the forward sweep as one JSON object on stdout (notes on stderr); --prefill/--generate/--train/--machine: one JSON line per thread count");
  sub.add_flag("--csv", a->csv, "the forward sweep as CSV on stdout, a header line first (notes on stderr)")->excludes(json);
  for (const bench::BenchModeEntry& m : bench::bench_modes()) sub.add_flag(m.flag, a->mode_on[m.flag], m.help);
  return [a] { return run_bench(*a); };
});

}  // namespace
}  // namespace attend::cli
