#pragma once
// Kernel scratch that outlives a call: each calling thread keeps the aligned blocks its last calls
// used and hands them out again, so a repeated call (a model's layers, a benchmark loop, decode
// steps) reuses warm, already-mapped pages instead of faulting fresh ones. On this project's VM a
// fresh 4 MiB panel buffer per call cost 30–50 % of an N = 512 forward in page faults.
//
// Bounded: a thread keeps at most kScratchCacheBytes of idle blocks (the least recently returned
// go first), and a block larger than that is freed on return. A request takes an idle block only
// if it is at most 1/8 larger than asked; otherwise every idle block is freed before allocating,
// so the cache never raises a call's peak memory. Nested calls on one thread (a capture
// sink calling attention) just take other blocks. attend::release_scratch_memory() empties the
// calling thread's cache.
#include <cstdint>

#include "core/memory.h"

namespace attend::core {

inline constexpr std::uint64_t kScratchCacheBytes = std::uint64_t{96} << 20;

// `count` floats, 64-byte aligned, contents unspecified; returned to the cache on destruction.
class ScratchFloats {
 public:
  ScratchFloats(const char* fn, const char* what, std::uint64_t count);
  ~ScratchFloats();
  ScratchFloats(const ScratchFloats&) = delete;
  ScratchFloats& operator=(const ScratchFloats&) = delete;
  float* get() const { return data_; }
  std::uint64_t capacity() const { return capacity_; }  // floats usable (>= the count asked for)

 private:
  float* data_ = nullptr;
  std::uint64_t capacity_ = 0;  // floats
};

// Frees every idle block the calling thread holds.
void release_thread_scratch();

}  // namespace attend::core
