#pragma once
// The capture interface: how a fused attention kernel reports what it saw without ever storing an
// Nq x Nk matrix. Kernels only include this header; the observatory (src/observe) implements sinks.
//
// Concurrency contract: the kernel calls on_stats / on_row from its worker threads, concurrently,
// each (batch, head, row) exactly once per call. A sink must make its own writes thread-safe
// (writing into disjoint preallocated slots, as the sinks in attend/observe do, needs no lock).
#include <cstdint>
#include "attend/span.h"

namespace attend {

// Streaming statistics of one query row's attention distribution p_ij = softmax_j(s_ij).
struct RowStats {
  float lse = 0;            // log Σ_j e^{s_ij} (natural log); -inf for a row with no visible key
  float entropy = 0;        // H_i = lse − Σ_j p_ij s_ij  (nats)
  float sink_mass = 0;      // Σ_{j < sink_tokens} p_ij: mass on the first keys ("attention sinks")
  float mean_distance = 0;  // Σ_j p_ij |i' − j|, i' the query's position in key coordinates
  float max_weight = 0;     // max_j p_ij
  std::int32_t argmax = -1; // the j of max_weight (-1 for an empty row)
  std::int32_t visible = 0; // number of keys the mask lets this row see
};

class CaptureSink {
 public:
  virtual ~CaptureSink() = default;

  // Called once per attention call, before any work, from the calling thread.
  virtual bool wants_stats() const { return false; }
  virtual int sink_tokens() const { return 1; }
  // Statistics for rows [row0, row0 + stats.size()) of (batch, head). Worker threads.
  virtual void on_stats(std::int64_t batch, std::int64_t head, std::int64_t row0,
                        Span<const RowStats> stats) {
    (void)batch; (void)head; (void)row0; (void)stats;
  }

  // Full rows (pre-softmax scores and weights) for the (batch, head, row) this returns true for.
  // Asked from worker threads. Costs O(Nk) per selected row, never O(Nq x Nk) memory.
  virtual bool wants_row(std::int64_t batch, std::int64_t head, std::int64_t row) const {
    (void)batch; (void)head; (void)row;
    return false;
  }
  // scores: the logits after scale, soft-cap, bias and ALiBi (-inf where masked); weights: p_ij.
  virtual void on_row(std::int64_t batch, std::int64_t head, std::int64_t row,
                      Span<const float> scores, Span<const float> weights) {
    (void)batch; (void)head; (void)row; (void)scores; (void)weights;
  }

  // Thumbnails: every row's weights pooled over C = min(Nk, thumb_columns()) column bins, computed
  // in the kernel's softmax pass tile by tile (O(C) scratch per row, never Nq x Nk). Key j falls in
  // bin ⌊j·C/Nk⌋. 0 (the default): off. Asked once per call, from the calling thread.
  virtual std::int64_t thumb_columns() const { return 0; }
  // For (batch, head, row): bin_sum[b] = Σ_{j in bin b} p_ij and bin_max[b] = max_{j in bin b} p_ij
  // (weights before dropout; 0 for masked keys), both [C]. Worker threads; the sink pools rows.
  virtual void on_thumb_row(std::int64_t batch, std::int64_t head, std::int64_t row,
                            Span<const float> bin_sum, Span<const float> bin_max) {
    (void)batch; (void)head; (void)row; (void)bin_sum; (void)bin_max;
  }
};

}  // namespace attend
