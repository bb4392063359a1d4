#pragma once
// Shared pieces of the ring forward and backward: layouts, row views, packing, the ring's MPI
// plumbing and the mask test that skips hidden blocks.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "attend/dist.h"
#include "attend/tensor.h"

namespace attend::dist::detail {

// Every rank's row count and segments (collective: all-gathers the local counts).
struct RingLayout {
  int rank = 0, ranks = 1;
  std::vector<std::int64_t> rows;               // n_r per rank
  std::vector<std::vector<Segment>> segments;   // per rank
  std::int64_t max_rows = 0, total = 0;
};
RingLayout make_layout(const char* fn, MPI_Comm comm, std::int64_t local_rows, Layout layout);

// Options the ring cannot honour are rejected; the view checks are the local kernel's.
void check_ring_options(const char* fn, const AttentionOptions& opts);

// Rows [a, a + n) of dimension `dim` of a view.
TensorView rows_of(const TensorView& t, int dim, std::int64_t a, std::int64_t n);

// Copies a [B, n, H, W] view (any strides, its dtype) into dst, densely.
void pack(const TensorView& t, void* dst);
// Writes a dense f32 [B, n, H, W] buffer into a view of any dtype and strides.
void unpack_f32(const float* src, const TensorView& t);

// True when no (query, key) pair of the two global row runs is visible under causal/window.
bool block_hidden(const Segment& q, const Segment& k, const AttentionOptions& opts);
// position_offset that puts local query row i at global q.global + i against keys from k.global.
inline std::int64_t block_offset(const Segment& q, const Segment& k) {
  return (q.global - k.global) - (k.length - q.length);
}

// Byte count as MPI's int, or a clear error.
int mpi_count(const char* fn, std::size_t bytes);
void mpi_check(const char* fn, int rc, const char* what);

}  // namespace attend::dist::detail
