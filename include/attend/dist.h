#pragma once
// Exact ring attention over MPI (sequence parallelism). Built only when MPI is found
// (ATTEND_WITH_MPI; link attend::dist).
//
// P ranks of `comm` each hold some rows of one self-attention sequence of N = Σ n_r tokens:
//   q:   [B, n_r, Hq, D]      k: [B, n_r, Hkv, D]      v: [B, n_r, Hkv, Dv]
//   out: [B, n_r, Hq, Dv]     lse: [B, Hq, n_r] (optional, f32)       (rows of this rank only)
// K/V blocks travel around the ring (rank r sends to r + 1) with non-blocking MPI while each rank
// runs the local kernel on the block it holds; partial (out, lse) merge exactly:
//   lse = log(e^lse_a + e^lse_b),  out = e^(lse_a − lse) · out_a + e^(lse_b − lse) · out_b.
// Masks (causal, window) and ALiBi are those of the global sequence; blocks they hide wholly are
// skipped. Layouts: contiguous (rank r holds rows [Σ_{s<r} n_s, ... + n_r), any sizes), or
// zig-zag (N cut into 2P chunks as evenly as possible; rank r holds chunks r and 2P − 1 − r, so
// causal work is balanced). Options: scale, causal, window, softcap, ALiBi, threads; GQA; f32,
// bf16, f16. Not supported (throws): bias, dropout, ragged batches, capture.
// Every rank must call with the same options, B, heads and widths (collective).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "attend/attention.h"
#include "attend/backward.h"

namespace attend::dist {

enum class Layout { contiguous, zigzag };

// A run of a rank's local rows: local rows [local, local + length) are global [global, ...).
struct Segment {
  std::int64_t global = 0, local = 0, length = 0;
};

// The rows rank `rank` of `ranks` holds of an n_total-token sequence in the zig-zag layout
// (two segments), and its row count; use them to slice inputs before calling.
std::vector<Segment> zigzag_segments(std::int64_t n_total, int ranks, int rank);
std::int64_t zigzag_rows(std::int64_t n_total, int ranks, int rank);
// Contiguous layout with the rows split as evenly as possible (first ranks get one more).
std::int64_t even_split_start(std::int64_t n_total, int ranks, int rank);

void ring_attention(MPI_Comm comm, const TensorView& q, const TensorView& k, const TensorView& v,
                    const TensorView& out, const AttentionOptions& opts = {}, const TensorView& lse = {},
                    Layout layout = Layout::contiguous);

// Backward: out and lse are this rank's rows of the global forward (ring_attention's outputs).
// dq is computed locally; dK/dV accumulators (f32) travel around the ring with their K/V block
// and arrive back at the owner after P steps.
void ring_attention_backward(MPI_Comm comm, const TensorView& q, const TensorView& k, const TensorView& v,
                             const TensorView& out, const TensorView& dout, const TensorView& lse,
                             const AttentionGrads& grads, const AttentionOptions& opts = {},
                             Layout layout = Layout::contiguous);

}  // namespace attend::dist
