#pragma once
// Python-side holders of attend::KVCache / PagedKVCache: the cache plus a mutex, so a decode in
// one Python thread (GIL released) never races an append from another.
#include <mutex>
#include <string>

#include "attend/kv_cache.h"
#include "registry.h"

namespace attend::python {

template <typename Cache>
struct CacheHolder {
  template <typename... Args>
  explicit CacheHolder(Args&&... args) : cache(std::forward<Args>(args)...) {}
  Cache cache;
  mutable std::mutex mu;  // taken after releasing the GIL (never the other way round)
};
using PyKVCache = CacheHolder<KVCache>;
using PyPagedKVCache = CacheHolder<PagedKVCache>;

DType dtype_from_python_name(const char* fn, const std::string& name);  // "float32", "bfloat16", ...

}  // namespace attend::python
