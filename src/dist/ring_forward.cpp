// Ring attention forward: K/V blocks circulate, the local kernel runs on each (query segment,
// key segment) pair the masks leave visible, and partial results merge by log-sum-exp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attend/dist.h"
#include "core/check.h"
#include "dist/ring_common.h"

namespace attend::dist {

using attend::detail::fail;
using namespace detail;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// acc_o: [B, n, H, Dv] f32, acc_l: [B, H, n]; part_* the same shapes over rows [r0, r0 + len).
// lse = log(e^a + e^b); out = e^(a − lse)·out_a + e^(b − lse)·out_b
void merge_rows(float* acc_o, float* acc_l, const float* part_o, const float* part_l, std::int64_t B, std::int64_t n,
                std::int64_t H, std::int64_t dv, std::int64_t r0, std::int64_t len) {
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = r0; i < r0 + len; ++i) {
        const float lb = part_l[(b * H + h) * n + i];
        if (!(lb > kNegInf)) continue;  // this block showed the row nothing
        float& la = acc_l[(b * H + h) * n + i];
        const float m = std::max(la, lb);
        const float merged = m + std::log(std::exp(la - m) + std::exp(lb - m));
        const float wa = std::exp(la - merged), wb = std::exp(lb - merged);  // wa = 0 when la = -inf
        float* o = acc_o + ((b * n + i) * H + h) * dv;
        const float* p = part_o + ((b * n + i) * H + h) * dv;
        for (std::int64_t c = 0; c < dv; ++c) o[c] = wa * o[c] + wb * p[c];
        la = merged;
      }
}

}  // namespace

// q: [B, n, Hq, D], k: [B, n, Hkv, D], v: [B, n, Hkv, Dv], out: [B, n, Hq, Dv], lse: [B, Hq, n]
void ring_attention(MPI_Comm comm, const TensorView& q, const TensorView& k, const TensorView& v,
                    const TensorView& out, const AttentionOptions& opts, const TensorView& lse, Layout layout) {
  const char* fn = "ring_attention";
  check_ring_options(fn, opts);
  if (q.rank != 4 || k.rank != 4 || v.rank != 4 || out.rank != 4)
    fail(fn, "q, k, v and out must be rank 4, got ", q.shape_string(), ", ", k.shape_string(), ", ", v.shape_string(), ", ", out.shape_string());
  if (k.dim(1) != q.dim(1) || v.dim(1) != q.dim(1) || out.dim(1) != q.dim(1))
    fail(fn, "each rank holds the same rows of q, k, v and out; got ", q.shape_string(), ", ", k.shape_string(), ", ",
         v.shape_string(), ", ", out.shape_string());
  const RingLayout L = make_layout(fn, comm, q.dim(1), layout);
  const std::int64_t B = q.dim(0), n = q.dim(1), hq = q.dim(2), hkv = k.dim(2), d = k.dim(3), dv = v.dim(3);
  if (!lse.empty() &&
      (lse.dtype != DType::f32 || lse.rank != 3 || lse.dim(0) != B || lse.dim(1) != hq || lse.dim(2) != n))
      fail(fn, "lse must be f32 [", B, ", ", hq, ", ", n, "], got ", dtype_name(lse.dtype), " ", lse.shape_string());
  const std::size_t k_row = static_cast<std::size_t>(B * hkv * d) * dtype_size(k.dtype);  // bytes per key row, all batches
  const std::size_t v_row = static_cast<std::size_t>(B * hkv * dv) * dtype_size(v.dtype);
  const std::size_t cap = static_cast<std::size_t>(L.max_rows) * (k_row + v_row);

  // Two K/V buffers: the block being computed on and the one arriving (double buffering).
  std::vector<std::vector<char>> buf(2, std::vector<char>(std::max<std::size_t>(cap, 1)));
  auto k_view = [&](char* base, std::int64_t rows) {
    return TensorView::contiguous(base, k.dtype, {B, rows, hkv, d});
  };
  auto v_view = [&](char* base, std::int64_t rows) {
    return TensorView::contiguous(base + static_cast<std::size_t>(rows) * k_row, v.dtype, {B, rows, hkv, dv});
  };
  pack(k, buf[0].data());
  pack(v, buf[0].data() + static_cast<std::size_t>(n) * k_row);

  std::vector<float> acc_o(static_cast<std::size_t>(B * n * hq * dv), 0.0f), acc_l(static_cast<std::size_t>(B * hq * n), kNegInf);
  std::vector<float> part_o(acc_o.size()), part_l(acc_l.size());
  const TensorView part_o_view = TensorView::contiguous(part_o.data(), DType::f32, {B, n, hq, dv});
  const TensorView part_l_view = TensorView::contiguous(part_l.data(), DType::f32, {B, hq, n});
  const int next = (L.rank + 1) % L.ranks, prev = (L.rank + L.ranks - 1) % L.ranks;
  const std::vector<Segment>& mine = L.segments[static_cast<std::size_t>(L.rank)];

  for (int step = 0; step < L.ranks; ++step) {
    const int src = (L.rank - step + L.ranks) % L.ranks;          // owner of the block held now
    const int incoming = (src - 1 + L.ranks) % L.ranks;            // owner of the block arriving
    char* cur = buf[static_cast<std::size_t>(step % 2)].data();
    char* nxt = buf[static_cast<std::size_t>((step + 1) % 2)].data();
    const std::int64_t cur_rows = L.rows[static_cast<std::size_t>(src)];
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    if (step + 1 < L.ranks) {  // pass the block on while computing with it (overlap)
      const std::size_t in_bytes = static_cast<std::size_t>(L.rows[static_cast<std::size_t>(incoming)]) * (k_row + v_row);
      mpi_check(fn, MPI_Irecv(nxt, mpi_count(fn, in_bytes), MPI_BYTE, prev, 0, comm, &req[0]), "MPI_Irecv");
      mpi_check(fn, MPI_Isend(cur, mpi_count(fn, static_cast<std::size_t>(cur_rows) * (k_row + v_row)), MPI_BYTE, next, 0,
                              comm, &req[1]), "MPI_Isend");
    }
    const TensorView kb = k_view(cur, cur_rows), vb = v_view(cur, cur_rows);
    for (const Segment& qs : mine)
      for (const Segment& ks : L.segments[static_cast<std::size_t>(src)]) {
        if (block_hidden(qs, ks, opts)) continue;  // causal/window hide every pair: skip
        AttentionOptions o = opts;
        o.position_offset = block_offset(qs, ks);
        attention(rows_of(q, 1, qs.local, qs.length), rows_of(kb, 1, ks.local, ks.length), rows_of(vb, 1, ks.local, ks.length),
                  rows_of(part_o_view, 1, qs.local, qs.length), o, rows_of(part_l_view, 2, qs.local, qs.length));
        merge_rows(acc_o.data(), acc_l.data(), part_o.data(), part_l.data(), B, n, hq, dv, qs.local, qs.length);
      }
    mpi_check(fn, MPI_Waitall(2, req, MPI_STATUSES_IGNORE), "MPI_Waitall");
  }
  unpack_f32(acc_o.data(), out);
  if (!lse.empty()) {
    float* l = static_cast<float*>(lse.data);
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t h = 0; h < hq; ++h)
        for (std::int64_t i = 0; i < n; ++i) l[b * lse.step(0) + h * lse.step(1) + i * lse.step(2)] = acc_l[static_cast<std::size_t>((b * hq + h) * n + i)];
  }
}

}  // namespace attend::dist
