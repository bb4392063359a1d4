// Ring attention backward (as in Ring Attention, Liu et al. 2023): each rank keeps its queries,
// out, dout and lse; K/V blocks travel around the ring together with f32 dK/dV accumulators,
// each rank adds its queries' share, and after P steps every accumulator is back at its owner.
#include <algorithm>
#include <array>
#include <vector>

#include "attend/dist.h"
#include "core/check.h"
#include "dist/ring_common.h"

namespace attend::dist {

using attend::detail::fail;
using namespace detail;

// q: [B, n, Hq, D], k: [B, n, Hkv, D], v: [B, n, Hkv, Dv], out/dout: [B, n, Hq, Dv], lse: [B, Hq, n]
void ring_attention_backward(MPI_Comm comm, const TensorView& q, const TensorView& k, const TensorView& v,
                             const TensorView& out, const TensorView& dout, const TensorView& lse,
                             const AttentionGrads& grads, const AttentionOptions& opts, Layout layout) {
  const char* fn = "ring_attention_backward";
  check_ring_options(fn, opts);
  if (!grads.dbias.empty()) fail(fn, "dbias is not supported by ring attention");
  for (const TensorView* t : {&q, &k, &v, &out, &dout, &grads.dq, &grads.dk, &grads.dv})
    if (t->rank != 4 || t->dim(1) != q.dim(1))
      fail(fn, "q, k, v, out, dout, dq, dk, dv must be rank 4 with this rank's ", q.dim(1), " rows, got ", t->shape_string());
  if (lse.empty()) fail(fn, "lse (the forward's log-sum-exp) is required");
  const RingLayout L = make_layout(fn, comm, q.dim(1), layout);
  const std::int64_t B = q.dim(0), n = q.dim(1), hq = q.dim(2), hkv = k.dim(2), d = k.dim(3), dv = v.dim(3);
  const std::size_t k_row = static_cast<std::size_t>(B * hkv * d) * dtype_size(k.dtype);
  const std::size_t v_row = static_cast<std::size_t>(B * hkv * dv) * dtype_size(v.dtype);
  const std::size_t kv_cap = static_cast<std::size_t>(L.max_rows) * (k_row + v_row);
  const std::size_t g_row = static_cast<std::size_t>(B * hkv * (d + dv));  // floats of dK and dV per key row
  const std::size_t g_cap = static_cast<std::size_t>(L.max_rows) * g_row;

  std::vector<std::vector<char>> kv(2, std::vector<char>(std::max<std::size_t>(kv_cap, 1)));
  pack(k, kv[0].data());
  pack(v, kv[0].data() + static_cast<std::size_t>(n) * k_row);
  // Three dK/dV buffers: one accumulating, one arriving, one still being sent (no reuse before
  // its send completes, so the send overlaps the next step's compute).
  std::array<std::vector<float>, 3> g;
  std::array<MPI_Request, 3> g_send{MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  for (auto& x : g) x.assign(std::max<std::size_t>(g_cap, 1), 0.0f);

  std::vector<float> dq(static_cast<std::size_t>(B * n * hq * d), 0.0f), part_dq(dq.size());
  std::vector<float> part_g(std::max<std::size_t>(g_cap, 1));
  const TensorView part_dq_view = TensorView::contiguous(part_dq.data(), DType::f32, {B, n, hq, d});
  const int next = (L.rank + 1) % L.ranks, prev = (L.rank + L.ranks - 1) % L.ranks;
  const std::vector<Segment>& mine = L.segments[static_cast<std::size_t>(L.rank)];

  MPI_Request g_recv = MPI_REQUEST_NULL;
  for (int step = 0; step < L.ranks; ++step) {
    const int src = (L.rank - step + L.ranks) % L.ranks, incoming = (src - 1 + L.ranks) % L.ranks;
    const std::int64_t rows = L.rows[static_cast<std::size_t>(src)], in_rows = L.rows[static_cast<std::size_t>(incoming)];
    char* cur = kv[static_cast<std::size_t>(step % 2)].data();
    char* nxt = kv[static_cast<std::size_t>((step + 1) % 2)].data();
    const std::size_t gi = static_cast<std::size_t>(step % 3), gn = static_cast<std::size_t>((step + 1) % 3);
    MPI_Request kv_req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    if (step + 1 < L.ranks) {  // K/V go on unchanged at once; the next dK/dV is posted for
      mpi_check(fn, MPI_Irecv(nxt, mpi_count(fn, static_cast<std::size_t>(in_rows) * (k_row + v_row)), MPI_BYTE, prev, 0, comm, &kv_req[0]), "MPI_Irecv");
      mpi_check(fn, MPI_Isend(cur, mpi_count(fn, static_cast<std::size_t>(rows) * (k_row + v_row)), MPI_BYTE, next, 0, comm, &kv_req[1]), "MPI_Isend");
    }
    mpi_check(fn, MPI_Wait(&g_send[gn], MPI_STATUS_IGNORE), "MPI_Wait");  // its old send must be done
    MPI_Request g_recv_next = MPI_REQUEST_NULL;  // block `incoming`'s accumulator, or ours coming home
    {
      const std::int64_t r_rows = step + 1 < L.ranks ? in_rows : L.rows[static_cast<std::size_t>(L.rank)];
      mpi_check(fn, MPI_Irecv(g[gn].data(), mpi_count(fn, static_cast<std::size_t>(r_rows) * g_row * sizeof(float)), MPI_BYTE,
                              prev, 1, comm, &g_recv_next), "MPI_Irecv");
    }

    const TensorView kb = TensorView::contiguous(cur, k.dtype, {B, rows, hkv, d});
    const TensorView vb = TensorView::contiguous(cur + static_cast<std::size_t>(rows) * k_row, v.dtype, {B, rows, hkv, dv});
    const TensorView dkb = TensorView::contiguous(part_g.data(), DType::f32, {B, rows, hkv, d});
    const TensorView dvb = TensorView::contiguous(part_g.data() + static_cast<std::size_t>(rows) * B * hkv * d, DType::f32, {B, rows, hkv, dv});
    std::fill(part_g.begin(), part_g.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(rows) * g_row), 0.0f);
    for (const Segment& qs : mine)
      for (const Segment& ks : L.segments[static_cast<std::size_t>(src)]) {
        if (block_hidden(qs, ks, opts)) continue;
        AttentionOptions o = opts;
        o.position_offset = block_offset(qs, ks);
        // Key segments of a block are disjoint, so each call writes its own dK/dV rows; dq adds up.
        Tensor tk(DType::f32, {B, ks.length, hkv, d}), tv(DType::f32, {B, ks.length, hkv, dv});
        attention_backward(rows_of(q, 1, qs.local, qs.length), rows_of(kb, 1, ks.local, ks.length), rows_of(vb, 1, ks.local, ks.length),
                           rows_of(out, 1, qs.local, qs.length), rows_of(dout, 1, qs.local, qs.length), rows_of(lse, 2, qs.local, qs.length),
                           {rows_of(part_dq_view, 1, qs.local, qs.length), tk.view(), tv.view(), {}}, o);
        const float* a = part_dq.data();
        for (std::int64_t b = 0; b < B; ++b)  // dq += this block's share, rows of qs
          for (std::int64_t i = qs.local; i < qs.local + qs.length; ++i)
            for (std::int64_t x = 0; x < hq * d; ++x) dq[static_cast<std::size_t>((b * n + i) * hq * d + x)] += a[(b * n + i) * hq * d + x];
        const float* ak = tk.data_as<float>();
        const float* av = tv.data_as<float>();
        for (std::int64_t b = 0; b < B; ++b)
          for (std::int64_t j = 0; j < ks.length; ++j) {
            float* gk = static_cast<float*>(dkb.data) + (b * rows + ks.local + j) * hkv * d;
            float* gv = static_cast<float*>(dvb.data) + (b * rows + ks.local + j) * hkv * dv;
            for (std::int64_t x = 0; x < hkv * d; ++x) gk[x] += ak[(b * ks.length + j) * hkv * d + x];
            for (std::int64_t x = 0; x < hkv * dv; ++x) gv[x] += av[(b * ks.length + j) * hkv * dv + x];
          }
      }
    // The accumulator of the block we hold: zeros for our own (step 0), else it came from prev.
    if (step == 0) std::fill(g[gi].begin(), g[gi].begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(rows) * g_row), 0.0f);
    else mpi_check(fn, MPI_Wait(&g_recv, MPI_STATUS_IGNORE), "MPI_Wait");
    for (std::size_t x = 0; x < static_cast<std::size_t>(rows) * g_row; ++x) g[gi][x] += part_g[x];
    mpi_check(fn, MPI_Isend(g[gi].data(), mpi_count(fn, static_cast<std::size_t>(rows) * g_row * sizeof(float)), MPI_BYTE, next, 1, comm,
                            &g_send[gi]), "MPI_Isend");
    g_recv = g_recv_next;
    mpi_check(fn, MPI_Waitall(2, kv_req, MPI_STATUSES_IGNORE), "MPI_Waitall");
  }
  // After P steps our own block's accumulator arrives from prev (it is in buffer P % 3).
  mpi_check(fn, MPI_Wait(&g_recv, MPI_STATUS_IGNORE), "MPI_Wait");
  mpi_check(fn, MPI_Waitall(3, g_send.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  const float* home = g[static_cast<std::size_t>(L.ranks % 3)].data();
  unpack_f32(home, grads.dk);
  unpack_f32(home + static_cast<std::size_t>(n) * static_cast<std::size_t>(B * hkv * d), grads.dv);
  unpack_f32(dq.data(), grads.dq);
}

}  // namespace attend::dist
