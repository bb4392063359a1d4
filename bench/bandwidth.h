#pragma once
// Read-bandwidth microbenchmark: the limit decode attention works against, measured here.

#include <cstddef>

namespace attend::bench {

// GB/s of a read-only stream over a buffer of `bytes` (much larger than the caches) on `threads`
// threads at once, each reading its own contiguous share; best of a few trials.
double measure_read_bandwidth_gbs(int threads, std::size_t bytes = std::size_t{1} << 30);

// Sums `n` floats with wide loads (the per-ISA loop the measurement uses).
float read_stream_avx512(const float* p, std::size_t n);
float read_stream_avx2(const float* p, std::size_t n);

// Evicts the caches: streams through a buffer larger than the last-level cache.
void flush_caches();

}  // namespace attend::bench
