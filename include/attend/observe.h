#pragma once
// The observatory: capture sinks for the fused kernel and the model, and the Recording they fill.
//
// Shape letters: L layers, H heads, N tokens, E model width, D head size, S selected rows.
// Nothing here allocates N x N unless the caller selects full matrices (Selection::full_heads).
#include <cstdint>
#include <memory>
#include "attend/span.h"
#include <string>
#include <vector>

#include "attend/capture.h"
#include "attend/trace.h"

namespace attend::observe {

// Streaming statistics for every (batch, head, row) of one attention call, in preallocated slots
// [B, H, N]. Workers write disjoint slots, so no lock is taken.
class StatsSink : public CaptureSink {
 public:
  StatsSink(std::int64_t batch, std::int64_t heads, std::int64_t rows, int sink_tokens = 1);
  bool wants_stats() const override { return true; }
  int sink_tokens() const override { return sink_tokens_; }
  void on_stats(std::int64_t batch, std::int64_t head, std::int64_t row0, Span<const RowStats> stats) override;

  const RowStats& at(std::int64_t batch, std::int64_t head, std::int64_t row) const;
  Span<const RowStats> head_rows(std::int64_t batch, std::int64_t head) const;  // [N]
  std::int64_t heads() const { return heads_; }
  std::int64_t rows() const { return rows_; }

 private:
  std::int64_t batch_, heads_, rows_;
  int sink_tokens_;
  std::vector<RowStats> stats_;
};

// Full rows (scores and weights) for chosen heads and query rows of batch 0, in preallocated
// storage [Hsel, Ssel, Nk]. Empty `heads` / `rows` select all of them.
class RowSink : public CaptureSink {
 public:
  RowSink(std::int64_t heads, std::int64_t rows, std::int64_t keys, std::vector<int> select_heads,
          std::vector<std::int64_t> select_rows);
  bool wants_row(std::int64_t batch, std::int64_t head, std::int64_t row) const override;
  void on_row(std::int64_t batch, std::int64_t head, std::int64_t row, Span<const float> scores,
              Span<const float> weights) override;

  bool has(std::int64_t head, std::int64_t row) const;
  Span<const float> scores(std::int64_t head, std::int64_t row) const;   // [Nk]
  Span<const float> weights(std::int64_t head, std::int64_t row) const;  // [Nk]
  std::int64_t keys() const { return keys_; }

 private:
  std::int64_t slot(std::int64_t head, std::int64_t row) const;  // -1 when not selected
  std::int64_t heads_, rows_, keys_;
  std::vector<std::int64_t> head_slot_, row_slot_;
  std::vector<std::uint8_t> filled_;
  std::vector<float> scores_, weights_;
};

// A thumbnail of every head's attention matrix of batch 0, pooled to R × C cells (R = min(Nq, side),
// C = min(Nk, side)) by the kernel as it runs (CaptureSink::thumb_columns): cell (a, b) covers rows
// i with ⌊i·R/Nq⌋ = a and keys j with ⌊j·C/Nk⌋ = b. Mean-pooled (masked entries count as 0) and
// max-pooled, [H, R, C] each; never Nq x Nk. When R = Nq and C = Nk both equal the matrix itself.
// Rows of one cell may come from different workers: each (head, row-bin) has its own lock.
class ThumbnailSink : public CaptureSink {
 public:
  ThumbnailSink(std::int64_t heads, std::int64_t rows, std::int64_t keys, std::int64_t side = 256);
  ~ThumbnailSink() override;
  std::int64_t thumb_columns() const override { return cols_; }
  void on_thumb_row(std::int64_t batch, std::int64_t head, std::int64_t row, Span<const float> bin_sum,
                    Span<const float> bin_max) override;

  std::int64_t out_rows() const { return out_rows_; }  // R
  std::int64_t out_cols() const { return cols_; }      // C
  bool exact() const { return out_rows_ == rows_ && cols_ == keys_; }  // one cell per entry
  std::vector<float> mean() const;                      // [H, R, C]
  const std::vector<float>& max() const { return max_; }  // [H, R, C]

 private:
  std::int64_t heads_, rows_, keys_, out_rows_, cols_;
  std::vector<float> sum_, max_;
  std::vector<std::int64_t> rows_in_bin_, cols_in_bin_;
  struct Locks;
  std::unique_ptr<Locks> locks_;
};

// Statistics, selected rows (two row sinks: whole heads and chosen queries) and thumbnails at once
// (what the model hands one layer's kernel). Any of them may be null.
class TeeSink : public CaptureSink {
 public:
  TeeSink(StatsSink* stats, RowSink* rows, RowSink* more_rows = nullptr, ThumbnailSink* thumbs = nullptr)
      : stats_(stats), rows_(rows), more_rows_(more_rows), thumbs_(thumbs) {}
  bool wants_stats() const override { return stats_ != nullptr; }
  int sink_tokens() const override { return stats_ ? stats_->sink_tokens() : 1; }
  void on_stats(std::int64_t b, std::int64_t h, std::int64_t r0, Span<const RowStats> s) override {
    if (stats_) stats_->on_stats(b, h, r0, s);
  }
  bool wants_row(std::int64_t b, std::int64_t h, std::int64_t r) const override {
    return (rows_ && rows_->wants_row(b, h, r)) || (more_rows_ && more_rows_->wants_row(b, h, r));
  }
  void on_row(std::int64_t b, std::int64_t h, std::int64_t r, Span<const float> s, Span<const float> w) override {
    if (rows_ && rows_->wants_row(b, h, r)) rows_->on_row(b, h, r, s, w);
    if (more_rows_ && more_rows_->wants_row(b, h, r)) more_rows_->on_row(b, h, r, s, w);
  }
  std::int64_t thumb_columns() const override { return thumbs_ ? thumbs_->thumb_columns() : 0; }
  void on_thumb_row(std::int64_t b, std::int64_t h, std::int64_t r, Span<const float> s, Span<const float> m) override {
    if (thumbs_) thumbs_->on_thumb_row(b, h, r, s, m);
  }

 private:
  StatsSink* stats_;
  RowSink* rows_;
  RowSink* more_rows_;
  ThumbnailSink* thumbs_;
};

// What to record from a traced forward pass. Empty `layers` / `full_heads` mean all.
struct Selection {
  std::vector<int> layers;               // layers whose full matrices and activations are kept
  std::vector<int> full_heads;           // heads whose full N x N weights are kept (those layers)
  bool full_matrices = true;             // keep full weights at all (N x N per selected head)
  bool activations = true;               // keep resid pre/mid/post, q, k, v, head outputs, attn/MLP updates
  int sink_tokens = 1;
  std::int64_t thumbnail = 256;          // thumbnail side for every head of every layer (0: none)
  std::vector<std::int64_t> rows;        // query rows whose exact weights are kept for every head (every layer)
  bool activations_every_layer = false;  // keep activations of every layer, not only of `layers`
};

// One layer of a Recording. Full matrices are [N, N] row-major (row = query), empty when not kept.
struct LayerRecord {
  int layer = 0;
  bool selected = false;
  std::vector<RowStats> stats;                 // [H, N], every layer
  std::vector<int> full_heads;                 // which heads have `weights` / `scores`
  std::vector<std::vector<float>> weights;     // per full head: [N, N]
  std::vector<std::vector<float>> scores;      // per full head: [N, N] (-inf where masked)
  std::vector<float> resid_pre, resid_mid, resid_post;  // [N, E]
  std::vector<float> q, k, v, head_out;        // [N, H, D] ([N, G, D] for k, v)
  std::vector<float> attn_out, mlp_out;        // [N, E] the block's two updates
  // Thumbnails of every head (ThumbnailSink): [H, R, C] mean- and max-pooled weights.
  std::int64_t thumb_rows = 0, thumb_cols = 0;
  std::vector<float> thumb_mean, thumb_max;
  // Exact weights of the selected query rows (Selection::rows) for every head: [H, |rows|, N].
  std::vector<std::int64_t> rows;
  std::vector<float> row_weights;
};

// Everything the report is built from; filled through RecordingSink (or by hand in tests).
struct Recording {
  std::string title;                       // e.g. the prompt
  std::vector<std::string> tokens;         // [N] token text (raw; escaped only when written)
  std::vector<int> token_ids;              // [N]
  std::int64_t n = 0, d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int sink_tokens = 1;
  std::vector<LayerRecord> layers;         // [L]

  const LayerRecord& layer(int l) const;
  // Full weights of (layer, head); throws attend::Error when that head was not recorded in full.
  Span<const float> weights(int layer, int head) const;
  bool has_weights(int layer, int head) const;
  // The head's exact weights [N, N]: recorded in full, or a thumbnail with one cell per entry.
  // Empty when neither was kept.
  Span<const float> exact_weights(int layer, int head) const;
};

// ModelTraceSink that fills a Recording. The model must hand layer l's kernel attention_sink(l)
// and call on_layer after each block; `tokens`, `heads` and `layers` size the preallocated storage.
class RecordingSink : public ModelTraceSink {
 public:
  RecordingSink(Recording& rec, int layers, std::int64_t heads, Selection sel);
  ~RecordingSink() override;
  CaptureSink* attention_sink(int layer) override;
  void on_layer(const LayerTrace& trace) override;

 private:
  struct Slot;
  Recording& rec_;
  Selection sel_;
  std::int64_t heads_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool selected(int layer) const;
};

}  // namespace attend::observe
