#include "core/scratch_cache.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "attend/runtime.h"

namespace attend::core {
namespace {

struct IdleBlock {
  float* data;
  std::uint64_t capacity;  // floats
};

// The calling thread's idle blocks, oldest first.
struct ThreadCache {
  std::vector<IdleBlock> idle;
  std::uint64_t bytes = 0;
  ~ThreadCache() { clear(); }
  void clear() {
    for (const IdleBlock& b : idle) std::free(b.data);
    idle.clear();
    bytes = 0;
  }
};

ThreadCache& thread_cache() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

ScratchFloats::ScratchFloats(const char* fn, const char* what, std::uint64_t count) {
  ThreadCache& c = thread_cache();
  // Best fit among blocks at most 1/8 (+ 64 KiB) larger than asked: a call never holds much more
  // than it needs, so peak memory stays what it would be without the cache.
  const std::uint64_t loose = count + count / 8 + 16384;
  auto best = c.idle.end();
  for (auto it = c.idle.begin(); it != c.idle.end(); ++it)
    if (it->capacity >= count && it->capacity <= loose && (best == c.idle.end() || it->capacity < best->capacity)) best = it;
  if (best != c.idle.end()) {
    data_ = best->data;
    capacity_ = best->capacity;
    c.bytes -= capacity_ * sizeof(float);
    c.idle.erase(best);
    return;
  }
  // Nothing fits: free every idle block before allocating (idle memory never adds to a new peak),
  // so the cache holds what recent calls need, not a history of other sizes.
  c.clear();
  FloatBuffer fresh = aligned_floats(fn, what, count);
  data_ = fresh.release();
  capacity_ = std::max<std::uint64_t>(count, 1);
}

ScratchFloats::~ScratchFloats() {
  ThreadCache& c = thread_cache();
  const std::uint64_t bytes = capacity_ * sizeof(float);
  if (bytes > kScratchCacheBytes) {
    std::free(data_);
    return;
  }
  c.idle.push_back({data_, capacity_});
  c.bytes += bytes;
  while (c.bytes > kScratchCacheBytes) {  // drop the least recently returned
    c.bytes -= c.idle.front().capacity * sizeof(float);
    std::free(c.idle.front().data);
    c.idle.erase(c.idle.begin());
  }
}

void release_thread_scratch() { thread_cache().clear(); }

}  // namespace attend::core

namespace attend {
void release_scratch_memory() { core::release_thread_scratch(); }
}  // namespace attend
