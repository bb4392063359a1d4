#pragma once
// Fail early, with a message, when a request would need more memory than the machine has.
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace attend::core {

// Bytes of memory currently available (MemAvailable + SwapFree from /proc/meminfo); 0 if unknown.
std::uint64_t available_memory_bytes();
// Throws attend::Error("<fn>: needs X GiB ... only Y GiB available") when bytes exceed what is
// available. Cheap: reads /proc/meminfo only for requests above 256 MiB.
void check_allocation(const char* fn, std::uint64_t bytes);

struct AlignedFree { void operator()(float* p) const { std::free(p); } };
using FloatBuffer = std::unique_ptr<float, AlignedFree>;

// `count` floats, 64-byte aligned (cache lines and AVX-512 loads), after check_allocation; the size is
// rounded up to a multiple of 64 bytes as aligned_alloc requires, and is never 0. Throws
// attend::Error("<fn>: out of memory for <what> ...") when the allocation fails.
FloatBuffer aligned_floats(const char* fn, const char* what, std::uint64_t count);

}  // namespace attend::core
