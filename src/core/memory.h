#pragma once
// Fail early, with a message, when a request would need more memory than the machine has.
#include <cstdint>

namespace attend::core {

// Bytes of memory currently available (MemAvailable + SwapFree from /proc/meminfo); 0 if unknown.
std::uint64_t available_memory_bytes();
// Throws attend::Error("<fn>: needs X GiB ... only Y GiB available") when bytes exceed what is
// available. Cheap: reads /proc/meminfo only for requests above 256 MiB.
void check_allocation(const char* fn, std::uint64_t bytes);

}  // namespace attend::core
