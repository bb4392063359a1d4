#pragma once
// Process-wide runtime settings: threads and the SIMD path.
#include <cstdint>
#include <string_view>

namespace attend {

// Worker threads used by kernels when a call does not say (default: hardware concurrency).
void set_num_threads(int n);
int num_threads();

// SIMD paths. Dispatch happens once per call at a coarse entry point.
enum class Isa { scalar, avx2, avx512 };
Isa detected_isa();                  // best path this CPU supports
Isa active_isa();                    // detected, or the override (never above detected)
void set_isa_override(Isa isa);      // e.g. force the AVX2 path in tests; throws if unsupported
void clear_isa_override();
std::string_view isa_name(Isa isa);  // "scalar", "avx2", "avx512"
// The environment variable ATTEND_ISA=scalar|avx2|avx512 sets the override at start-up.

// Per-core data cache sizes in bytes as the OS reports them (glibc's sysconf, which reads cpuid),
// or 32 KiB / 512 KiB where it reports none. The forward kernel sizes its key tiles from l2.
struct CacheSizes {
  std::int64_t l1d = 0, l2 = 0;
};
CacheSizes cache_sizes();

// Kernels keep the scratch memory of the calling thread's recent calls (at most 96 MiB per thread)
// so repeated calls reuse mapped pages; this frees the calling thread's idle scratch now.
void release_scratch_memory();

}  // namespace attend
