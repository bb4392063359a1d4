#include "bench/bench_modes.h"

#include <map>

namespace attend::bench {
namespace {

std::map<std::string, BenchModeEntry>& registry() {
  static std::map<std::string, BenchModeEntry> m;
  return m;
}

}  // namespace

bool register_bench_mode(const std::string& flag, const std::string& help, BenchMode run, bool json) {
  registry()[flag] = BenchModeEntry{flag, help, std::move(run), json};
  return true;
}

std::vector<BenchModeEntry> bench_modes() {
  std::vector<BenchModeEntry> out;
  for (const auto& [flag, e] : registry()) out.push_back(e);
  return out;
}

}  // namespace attend::bench
