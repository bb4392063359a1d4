#pragma once
// `attend bench` modes registered by other files (e.g. --backward, --decode), so each benchmark
// lives in its own file: a mode adds a flag to `attend bench` and runs instead of the forward sweep.
#include <functional>
#include <string>
#include <vector>

namespace attend::cli {

// The options every mode may read (set from `attend bench`'s common flags).
struct BenchCommon {
  std::vector<std::int64_t> ns, ds;
  std::vector<int> threads;
  std::vector<std::string> dtypes;
  std::vector<int> causal;
  std::int64_t heads = 8;
  int runs = 5;
  bool quick = false;
  bool ns_given = false, ds_given = false, dtypes_given = false;  // mode may pick its own defaults
};

using BenchMode = std::function<int(const BenchCommon&)>;

// flag: e.g. "--backward". Returns true (for use in a static initialiser).
bool register_bench_mode(const std::string& flag, const std::string& help, BenchMode run);

}  // namespace attend::cli
