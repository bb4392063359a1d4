#include <cpuid.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "attend/runtime.h"
#include "core/check.h"

namespace attend {
namespace {

std::uint64_t xgetbv0() {
  std::uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

Isa probe_isa() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::scalar;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave) return Isa::scalar;
  const std::uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6, zmm_state = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::scalar;
  const bool avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31), avx512vnni = c & (1u << 11);
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
  const bool avx512bf16 = a1 & (1u << 5);
  if (ymm_state && zmm_state && avx2 && fma && f16c && bmi2 && avx512f && avx512dq && avx512bw &&
      avx512vl && avx512bf16 && avx512vnni)
    return Isa::avx512;
  if (ymm_state && avx2 && fma && f16c && bmi2) return Isa::avx2;
  return Isa::scalar;
}

Isa parse_isa(std::string_view s) {
  if (s == "scalar") return Isa::scalar;
  if (s == "avx2") return Isa::avx2;
  if (s == "avx512") return Isa::avx512;
  detail::fail("ATTEND_ISA", "unknown SIMD path '", s, "' (expected scalar, avx2 or avx512)");
}

void check_supported(const char* fn, Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detected_isa()))
    detail::fail(fn, "this CPU does not support ", isa_name(isa), " (best: ", isa_name(detected_isa()), ")");
}

// The override: kStartup (ATTEND_ISA decides, else the detected path), or an Isa. One atomic, so
// set/clear from any thread never race with kernels reading it.
constexpr int kStartup = -1;
std::atomic<int> g_override{kStartup};

// ATTEND_ISA, parsed and checked once (a thread-safe static initialiser; one that throws is retried,
// so a bad value fails every call, not just the first); -1 when unset.
int env_isa() {
  static const int isa = [] {
    const char* env = std::getenv("ATTEND_ISA");
    if (!env || !*env) return -1;
    const Isa i = parse_isa(env);
    check_supported("ATTEND_ISA", i);
    return static_cast<int>(i);
  }();
  return isa;
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = probe_isa();
  return isa;
}

Isa active_isa() {
  int o = g_override.load(std::memory_order_relaxed);
  if (o == kStartup) o = env_isa();
  return o < 0 ? detected_isa() : static_cast<Isa>(o);
}

void set_isa_override(Isa isa) {
  check_supported("set_isa_override", isa);
  g_override.store(static_cast<int>(isa), std::memory_order_relaxed);
}

void clear_isa_override() { g_override.store(kStartup, std::memory_order_relaxed); }

CacheSizes cache_sizes() {
  static const CacheSizes sizes = [] {
    auto query = [](int name, std::int64_t fallback) {
      const long v = sysconf(name);
      return v > 0 ? static_cast<std::int64_t>(v) : fallback;  // 0 or -1: not reported (some VMs, non-glibc)
    };
    return CacheSizes{query(_SC_LEVEL1_DCACHE_SIZE, 32 << 10), query(_SC_LEVEL2_CACHE_SIZE, 512 << 10)};
  }();
  return sizes;
}


std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

}  // namespace attend
