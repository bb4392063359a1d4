#include "dist/ring_common.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/check.h"
#include "core/element.h"

namespace attend::dist {

using attend::detail::fail;

std::int64_t zigzag_rows(std::int64_t n_total, int ranks, int rank) {
  std::int64_t n = 0;
  for (const Segment& s : zigzag_segments(n_total, ranks, rank)) n += s.length;
  return n;
}

std::vector<Segment> zigzag_segments(std::int64_t n_total, int ranks, int rank) {
  if (ranks < 1 || rank < 0 || rank >= ranks || n_total < 0)
    fail("zigzag_segments", "need 0 <= rank < ranks and n_total >= 0, got rank ", rank, " of ", ranks, ", n_total ", n_total);
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(ranks), base = n_total / chunks, rem = n_total % chunks;
  auto start = [&](std::int64_t c) { return c * base + std::min(c, rem); };  // chunk c's first row
  const std::int64_t a = rank, b = chunks - 1 - rank;
  const Segment first{start(a), 0, start(a + 1) - start(a)};
  const Segment second{start(b), first.length, start(b + 1) - start(b)};
  return {first, second};
}

std::int64_t even_split_start(std::int64_t n_total, int ranks, int rank) {
  const std::int64_t base = n_total / ranks, rem = n_total % ranks;
  return rank * base + std::min<std::int64_t>(rank, rem);
}

namespace detail {

RingLayout make_layout(const char* fn, MPI_Comm comm, std::int64_t local_rows, Layout layout) {
  RingLayout L;
  mpi_check(fn, MPI_Comm_rank(comm, &L.rank), "MPI_Comm_rank");
  mpi_check(fn, MPI_Comm_size(comm, &L.ranks), "MPI_Comm_size");
  L.rows.resize(static_cast<std::size_t>(L.ranks));
  long long mine = local_rows;
  std::vector<long long> all(static_cast<std::size_t>(L.ranks));
  mpi_check(fn, MPI_Allgather(&mine, 1, MPI_LONG_LONG, all.data(), 1, MPI_LONG_LONG, comm), "MPI_Allgather");
  std::int64_t start = 0;
  for (int r = 0; r < L.ranks; ++r) {
    const std::int64_t n = all[static_cast<std::size_t>(r)];
    L.rows[static_cast<std::size_t>(r)] = n;
    L.segments.push_back({Segment{start, 0, n}});
    start += n;
    L.max_rows = std::max(L.max_rows, n);
  }
  L.total = start;
  if (layout == Layout::zigzag) {
    for (int r = 0; r < L.ranks; ++r) {
      const std::int64_t want = zigzag_rows(L.total, L.ranks, r);
      if (want != L.rows[static_cast<std::size_t>(r)])
        fail(fn, "zig-zag layout: rank ", r, " holds ", L.rows[static_cast<std::size_t>(r)], " rows but a ", L.total,
             "-token sequence over ", L.ranks, " ranks gives it ", want, " (see attend::dist::zigzag_segments)");
      L.segments[static_cast<std::size_t>(r)] = zigzag_segments(L.total, L.ranks, r);
    }
  }
  return L;
}

void check_ring_options(const char* fn, const AttentionOptions& opts) {
  if (!opts.bias.empty()) fail(fn, "a bias is not supported by ring attention");
  if (opts.dropout_p != 0) fail(fn, "dropout is not supported by ring attention, got dropout_p ", opts.dropout_p);
  if (!opts.cu_seqlens_q.empty() || !opts.cu_seqlens_k.empty() || !opts.seqlens_k.empty())
    fail(fn, "ragged batches are not supported by ring attention");
  if (opts.capture) fail(fn, "capture is not supported by ring attention");
  if (opts.position_offset != 0) fail(fn, "position_offset is set by ring attention itself, got ", opts.position_offset);
}

TensorView rows_of(const TensorView& t, int dim, std::int64_t a, std::int64_t n) {
  TensorView x = t;
  x.data = static_cast<char*>(t.data) + a * t.step(dim) * static_cast<std::int64_t>(dtype_size(t.dtype));
  x.shape[static_cast<std::size_t>(dim)] = n;
  return x;
}

void pack(const TensorView& t, void* dst) {
  const std::size_t es = dtype_size(t.dtype);
  const std::int64_t w = t.dim(3);
  char* out = static_cast<char*>(dst);
  for (std::int64_t b = 0; b < t.dim(0); ++b)
    for (std::int64_t i = 0; i < t.dim(1); ++i)
      for (std::int64_t h = 0; h < t.dim(2); ++h) {
        const char* src = static_cast<const char*>(t.data) +
                          (b * t.step(0) + i * t.step(1) + h * t.step(2)) * static_cast<std::int64_t>(es);
        if (t.step(3) == 1) {  // rows are contiguous: one memcpy
          std::memcpy(out, src, static_cast<std::size_t>(w) * es);
        } else {
          for (std::int64_t c = 0; c < w; ++c)
            std::memcpy(out + static_cast<std::size_t>(c) * es, src + c * t.step(3) * static_cast<std::int64_t>(es), es);
        }
        out += static_cast<std::size_t>(w) * es;
      }
}

void unpack_f32(const float* src, const TensorView& t) {
  for (std::int64_t b = 0; b < t.dim(0); ++b)
    for (std::int64_t i = 0; i < t.dim(1); ++i)
      for (std::int64_t h = 0; h < t.dim(2); ++h)
        for (std::int64_t c = 0; c < t.dim(3); ++c)
          core::store_f32(t.data, t.dtype, b * t.step(0) + i * t.step(1) + h * t.step(2) + c * t.step(3), *src++);
}

bool block_hidden(const Segment& q, const Segment& k, const AttentionOptions& opts) {
  if (q.length == 0 || k.length == 0) return true;
  const std::int64_t q_first = q.global, q_last = q.global + q.length - 1;
  const std::int64_t k_first = k.global, k_last = k.global + k.length - 1;
  std::int64_t right = opts.window_right;
  if (opts.causal) right = right < 0 ? 0 : std::min<std::int64_t>(right, 0);
  if (right >= 0 && k_first > q_last + right) return true;             // every key after the last query's reach
  if (opts.window_left >= 0 && k_last < q_first - opts.window_left) return true;  // every key before the first's
  return false;
}

int mpi_count(const char* fn, std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX)) fail(fn, "a ring message of ", bytes, " bytes exceeds MPI's int count; use more ranks");
  return static_cast<int>(bytes);
}

void mpi_check(const char* fn, int rc, const char* what) {
  if (rc != MPI_SUCCESS) fail(fn, what, " failed with MPI error ", rc);
}

}  // namespace detail
}  // namespace attend::dist
