#pragma once
// `attend bench` modes registered by other files (e.g. --backward, --decode), so each benchmark
// lives in its own file: a mode adds a flag to `attend bench` and runs instead of the forward sweep.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace attend::bench {

// The options every mode may read (set from `attend bench`'s common flags).
struct BenchCommon {
  std::vector<std::int64_t> ns{512, 1024, 2048, 4096, 8192}, ds{64, 128};
  std::vector<int> threads{1, 2};
  std::vector<std::string> dtypes{"f32", "bf16"};
  std::vector<int> causal{0, 1};
  std::int64_t heads = 8;
  int runs = 5;
  bool quick = false;
  bool peak_only = false, no_baseline = false;                    // the forward sweep's own flags
  bool ns_given = false, ds_given = false, dtypes_given = false;  // mode may pick its own defaults
  std::string format = "text";  // the forward sweep's output: text | csv | json (stdout; notes go to stderr)
  // The runtime benchmarks against llama.cpp and torch (bench/bench_runtime.cpp, issue 24).
  std::string file;                 // --prefill/--generate: the GGUF model; --write-gguf: the output
  std::string shape = "gpt2-small";  // bench/runtime_counts.h's shapes
  std::string weights = "f32";       // --write-gguf: f32 | f16 | bf16 | q8_0
  std::string text;                  // --train: the byte-level text file
  std::int64_t tokens = 1024;        // --prefill: prompt tokens; --generate: the context reached
  std::int64_t new_tokens = 32;      // --generate: timed decoded tokens (the prompt is tokens − new_tokens)
  std::string kv_cache = "f32";      // --generate: the Decoder's KV cache dtype (f32 | f16 | bf16)
  bool exact_q8 = false;             // --generate: q8_0 products with f32 activations (set_int8_activations(false))
  std::int64_t batch = 8;            // --train: sequences per step
  std::vector<std::int64_t> sequences{1};  // --generate: also decode S sequences together (BatchDecoder) for each S > 1
  std::int64_t steps = 3;            // --train: timed optimizer steps per run
  bool no_instruments = false;       // --prefill/--generate/--train: skip the peak / bandwidth (fractions print as null)
  bool bf16_activations = false;     // --prefill/--generate: LoadOptions::bf16_activations (bf16 weights' prefill via vdpbf16ps)
};

using BenchMode = std::function<int(const BenchCommon&)>;

// flag: e.g. "--backward". Returns true (for use in a static initialiser). Called only from static
// initialisers (single-threaded, before main).
// json: the mode prints JSON lines itself when format is "json" (else --json/--csv are refused).
bool register_bench_mode(const std::string& flag, const std::string& help, BenchMode run, bool json = false);

struct BenchModeEntry {
  std::string flag, help;
  BenchMode run;
  bool json = false;
};
std::vector<BenchModeEntry> bench_modes();  // every registered mode, sorted by flag

// The default mode: forward GFLOP/s against the measured peak and the naive OpenBLAS baseline.
int run_forward_sweep(BenchCommon c);

}  // namespace attend::bench
