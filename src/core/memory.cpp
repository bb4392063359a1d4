#include "core/memory.h"

#include <cstdio>
#include <cstring>

#include "core/check.h"

namespace attend::core {

std::uint64_t available_memory_bytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  std::uint64_t avail = 0, swap = 0;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) avail = kb * 1024;
    if (std::sscanf(line, "SwapFree: %llu kB", &kb) == 1) swap = kb * 1024;
  }
  std::fclose(f);
  return avail + swap;
}

void check_allocation(const char* fn, std::uint64_t bytes) {
  if (bytes < (std::uint64_t{256} << 20)) return;
  const std::uint64_t avail = available_memory_bytes();
  if (avail != 0 && bytes > avail) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "needs %.1f GiB of memory but only %.1f GiB is available", static_cast<double>(bytes) / (1u << 30),
                  static_cast<double>(avail) / (1u << 30));
    detail::fail(fn, msg);
  }
}

FloatBuffer aligned_floats(const char* fn, const char* what, std::uint64_t count) {
  const std::uint64_t bytes = count * sizeof(float);
  check_allocation(fn, bytes);
  FloatBuffer r(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)));
  if (!r) detail::fail(fn, "out of memory for ", what, " (", bytes, " bytes)");
  return r;
}

}  // namespace attend::core
