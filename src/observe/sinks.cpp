// Capture sinks and the Recording: preallocated slots written by the kernel's worker threads.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "attend/observe.h"
#include "core/check.h"

namespace attend::observe {

// ---- StatsSink: [B, H, N] RowStats ------------------------------------------------------------
StatsSink::StatsSink(std::int64_t batch, std::int64_t heads, std::int64_t rows, int sink_tokens)
    : batch_(batch), heads_(heads), rows_(rows), sink_tokens_(sink_tokens) {
  if (batch < 1 || heads < 1 || rows < 0 || sink_tokens < 0)
    detail::fail("StatsSink", "bad shape batch=", batch, " heads=", heads, " rows=", rows, " sink_tokens=", sink_tokens);
  stats_.resize(static_cast<std::size_t>(batch * heads * rows));
}

void StatsSink::on_stats(std::int64_t batch, std::int64_t head, std::int64_t row0, Span<const RowStats> stats) {
  const auto count = static_cast<std::int64_t>(stats.size());
  ATTEND_ASSERT(batch >= 0 && batch < batch_ && head >= 0 && head < heads_ && row0 >= 0 && row0 + count <= rows_);
  std::copy(stats.begin(), stats.end(), stats_.begin() + ((batch * heads_ + head) * rows_ + row0));
}

const RowStats& StatsSink::at(std::int64_t batch, std::int64_t head, std::int64_t row) const {
  if (batch < 0 || batch >= batch_ || head < 0 || head >= heads_ || row < 0 || row >= rows_)
    detail::fail("StatsSink::at", "(", batch, ", ", head, ", ", row, ") outside [", batch_, ", ", heads_, ", ", rows_, "]");
  return stats_[static_cast<std::size_t>((batch * heads_ + head) * rows_ + row)];
}

Span<const RowStats> StatsSink::head_rows(std::int64_t batch, std::int64_t head) const {
  if (rows_ == 0) return {};
  return {&at(batch, head, 0), static_cast<std::size_t>(rows_)};
}

// ---- RowSink: [Hsel, Ssel, Nk] scores and weights -----------------------------------------------
RowSink::RowSink(std::int64_t heads, std::int64_t rows, std::int64_t keys, std::vector<int> select_heads,
                 std::vector<std::int64_t> select_rows)
    : heads_(heads), rows_(rows), keys_(keys) {
  if (heads < 1 || rows < 0 || keys < 0) detail::fail("RowSink", "bad shape heads=", heads, " rows=", rows, " keys=", keys);
  head_slot_.assign(static_cast<std::size_t>(heads), select_heads.empty() ? 0 : -1);
  row_slot_.assign(static_cast<std::size_t>(rows), select_rows.empty() ? 0 : -1);
  std::int64_t nh = 0, nr = 0;
  if (select_heads.empty()) for (auto& s : head_slot_) s = nh++;
  for (int h : select_heads) {
    if (h < 0 || h >= heads) detail::fail("RowSink", "head ", h, " outside [0, ", heads, ")");
    if (head_slot_[static_cast<std::size_t>(h)] < 0) head_slot_[static_cast<std::size_t>(h)] = nh++;
  }
  if (select_rows.empty()) for (auto& s : row_slot_) s = nr++;
  for (std::int64_t r : select_rows) {
    if (r < 0 || r >= rows) detail::fail("RowSink", "row ", r, " outside [0, ", rows, ")");
    if (row_slot_[static_cast<std::size_t>(r)] < 0) row_slot_[static_cast<std::size_t>(r)] = nr++;
  }
  const auto cells = static_cast<std::size_t>(nh * nr * keys);
  scores_.assign(cells, -INFINITY);
  weights_.assign(cells, 0.0f);
  filled_.assign(static_cast<std::size_t>(nh * nr), 0);
  row_slot_.push_back(nr);  // remember the row count (slot stride) at the end
}

std::int64_t RowSink::slot(std::int64_t head, std::int64_t row) const {
  if (head < 0 || head >= heads_ || row < 0 || row >= rows_) return -1;
  const std::int64_t hs = head_slot_[static_cast<std::size_t>(head)], rs = row_slot_[static_cast<std::size_t>(row)];
  if (hs < 0 || rs < 0) return -1;
  return hs * row_slot_.back() + rs;
}

bool RowSink::wants_row(std::int64_t batch, std::int64_t head, std::int64_t row) const {
  return batch == 0 && slot(head, row) >= 0;
}

void RowSink::on_row(std::int64_t batch, std::int64_t head, std::int64_t row, Span<const float> scores,
                     Span<const float> weights) {
  const std::int64_t s = batch == 0 ? slot(head, row) : -1;
  ATTEND_ASSERT(s >= 0 && static_cast<std::int64_t>(scores.size()) == keys_ && weights.size() == scores.size());
  std::copy(scores.begin(), scores.end(), scores_.begin() + s * keys_);
  std::copy(weights.begin(), weights.end(), weights_.begin() + s * keys_);
  filled_[static_cast<std::size_t>(s)] = 1;
}

bool RowSink::has(std::int64_t head, std::int64_t row) const {
  const std::int64_t s = slot(head, row);
  return s >= 0 && filled_[static_cast<std::size_t>(s)] != 0;
}

Span<const float> RowSink::scores(std::int64_t head, std::int64_t row) const {
  const std::int64_t s = slot(head, row);
  if (s < 0) detail::fail("RowSink::scores", "(head ", head, ", row ", row, ") was not selected");
  return {scores_.data() + s * keys_, static_cast<std::size_t>(keys_)};
}

Span<const float> RowSink::weights(std::int64_t head, std::int64_t row) const {
  const std::int64_t s = slot(head, row);
  if (s < 0) detail::fail("RowSink::weights", "(head ", head, ", row ", row, ") was not selected");
  return {weights_.data() + s * keys_, static_cast<std::size_t>(keys_)};
}

// ---- ThumbnailSink: [H, R, C] pooled weights --------------------------------------------------
struct ThumbnailSink::Locks {
  explicit Locks(std::size_t n) : m(n) {}
  std::vector<std::mutex> m;  // one per (head, row bin)
};

ThumbnailSink::ThumbnailSink(std::int64_t heads, std::int64_t rows, std::int64_t keys, std::int64_t side)
    : heads_(heads), rows_(rows), keys_(keys) {
  if (heads < 1 || rows < 1 || keys < 1 || side < 1)
    detail::fail("ThumbnailSink", "bad shape heads=", heads, " rows=", rows, " keys=", keys, " side=", side);
  out_rows_ = std::min(rows, side);
  cols_ = std::min(keys, side);
  const auto cells = static_cast<std::size_t>(heads * out_rows_ * cols_);
  sum_.assign(cells, 0.0f);
  max_.assign(cells, 0.0f);
  rows_in_bin_.assign(static_cast<std::size_t>(out_rows_), 0);
  cols_in_bin_.assign(static_cast<std::size_t>(cols_), 0);
  for (std::int64_t i = 0; i < rows; ++i) ++rows_in_bin_[static_cast<std::size_t>(i * out_rows_ / rows)];
  for (std::int64_t j = 0; j < keys; ++j) ++cols_in_bin_[static_cast<std::size_t>(j * cols_ / keys)];
  locks_ = std::make_unique<Locks>(static_cast<std::size_t>(heads * out_rows_));
}

ThumbnailSink::~ThumbnailSink() = default;

void ThumbnailSink::on_thumb_row(std::int64_t batch, std::int64_t head, std::int64_t row, Span<const float> bin_sum,
                                 Span<const float> bin_max) {
  if (batch != 0) return;  // thumbnails of the first sequence
  ATTEND_ASSERT(head >= 0 && head < heads_ && row >= 0 && row < rows_ && static_cast<std::int64_t>(bin_sum.size()) == cols_ &&
                bin_max.size() == bin_sum.size());
  const std::int64_t cell_row = head * out_rows_ + row * out_rows_ / rows_;
  float* s = sum_.data() + cell_row * cols_;
  float* m = max_.data() + cell_row * cols_;
  std::lock_guard<std::mutex> lock(locks_->m[static_cast<std::size_t>(cell_row)]);
  for (std::int64_t b = 0; b < cols_; ++b) {
    s[b] += bin_sum[static_cast<std::size_t>(b)];
    m[b] = std::max(m[b], bin_max[static_cast<std::size_t>(b)]);
  }
}

std::vector<float> ThumbnailSink::mean() const {
  std::vector<float> out(sum_.size());
  for (std::int64_t h = 0; h < heads_; ++h)
    for (std::int64_t a = 0; a < out_rows_; ++a)
      for (std::int64_t b = 0; b < cols_; ++b) {
        const std::size_t at = static_cast<std::size_t>((h * out_rows_ + a) * cols_ + b);
        out[at] = sum_[at] / static_cast<float>(rows_in_bin_[static_cast<std::size_t>(a)] * cols_in_bin_[static_cast<std::size_t>(b)]);
      }
  return out;
}

// ---- Recording ----------------------------------------------------------------------------------
const LayerRecord& Recording::layer(int l) const {
  if (l < 0 || l >= static_cast<int>(layers.size())) detail::fail("Recording::layer", "layer ", l, " outside [0, ", layers.size(), ")");
  return layers[static_cast<std::size_t>(l)];
}

bool Recording::has_weights(int l, int head) const {
  if (l < 0 || l >= static_cast<int>(layers.size())) return false;
  const auto& fh = layers[static_cast<std::size_t>(l)].full_heads;
  return std::find(fh.begin(), fh.end(), head) != fh.end();
}

Span<const float> Recording::exact_weights(int l, int head) const {
  if (has_weights(l, head)) return weights(l, head);
  if (l < 0 || l >= static_cast<int>(layers.size()) || head < 0 || head >= heads) return {};
  const LayerRecord& lr = layers[static_cast<std::size_t>(l)];
  if (lr.thumb_rows != n || lr.thumb_cols != n || static_cast<std::int64_t>(lr.thumb_mean.size()) != heads * n * n) return {};
  return Span<const float>(lr.thumb_mean).subspan(static_cast<std::size_t>(head * n * n), static_cast<std::size_t>(n * n));
}

Span<const float> Recording::weights(int l, int head) const {
  const LayerRecord& lr = layer(l);
  for (std::size_t i = 0; i < lr.full_heads.size(); ++i)
    if (lr.full_heads[i] == head) return lr.weights[i];
  detail::fail("Recording::weights", "layer ", l, " head ", head, " was not recorded in full");
}

// ---- RecordingSink --------------------------------------------------------------------------------
struct RecordingSink::Slot {
  StatsSink stats;
  std::unique_ptr<RowSink> rows, picked;
  std::unique_ptr<ThumbnailSink> thumbs;
  TeeSink tee;
  Slot(std::int64_t heads, std::int64_t n, int sink, bool full, const std::vector<int>& full_heads, const std::vector<std::int64_t>& pick,
       std::int64_t thumb)
      : stats(1, heads, n, sink),
        rows(full ? std::make_unique<RowSink>(heads, n, n, full_heads, std::vector<std::int64_t>{}) : nullptr),
        picked(pick.empty() ? nullptr : std::make_unique<RowSink>(heads, n, n, std::vector<int>{}, pick)),
        thumbs(thumb > 0 ? std::make_unique<ThumbnailSink>(heads, n, n, thumb) : nullptr),
        tee(&stats, rows.get(), picked.get(), thumbs.get()) {}
};

RecordingSink::RecordingSink(Recording& rec, int layers, std::int64_t heads, Selection sel)
    : rec_(rec), sel_(std::move(sel)), heads_(heads) {
  if (layers < 1 || heads < 1 || rec.n < 1)
    detail::fail("RecordingSink", "bad sizes layers=", layers, " heads=", heads, " tokens=", rec.n, " (set rec.n first)");
  for (int l : sel_.layers)
    if (l < 0 || l >= layers) detail::fail("RecordingSink", "layer ", l, " outside [0, ", layers, ")");
  for (int h : sel_.full_heads)
    if (h < 0 || h >= heads) detail::fail("RecordingSink", "head ", h, " outside [0, ", heads, ")");
  for (std::int64_t r : sel_.rows)
    if (r < 0 || r >= rec.n) detail::fail("RecordingSink", "row ", r, " outside [0, ", rec.n, ")");
  if (sel_.thumbnail < 0 || sel_.thumbnail > 4096) detail::fail("RecordingSink", "thumbnail side ", sel_.thumbnail, " outside [0, 4096]");
  std::sort(sel_.rows.begin(), sel_.rows.end());
  sel_.rows.erase(std::unique(sel_.rows.begin(), sel_.rows.end()), sel_.rows.end());
  rec_.heads = heads;
  rec_.sink_tokens = sel_.sink_tokens;
  rec_.layers.assign(static_cast<std::size_t>(layers), LayerRecord{});
  slots_.resize(static_cast<std::size_t>(layers));
}

RecordingSink::~RecordingSink() = default;

bool RecordingSink::selected(int layer) const {
  return sel_.layers.empty() || std::find(sel_.layers.begin(), sel_.layers.end(), layer) != sel_.layers.end();
}

CaptureSink* RecordingSink::attention_sink(int layer) {
  if (layer < 0 || layer >= static_cast<int>(slots_.size())) detail::fail("RecordingSink::attention_sink", "layer ", layer, " outside [0, ", slots_.size(), ")");
  auto& slot = slots_[static_cast<std::size_t>(layer)];
  slot = std::make_unique<Slot>(heads_, rec_.n, sel_.sink_tokens, sel_.full_matrices && selected(layer), sel_.full_heads, sel_.rows,
                                sel_.thumbnail);
  return &slot->tee;
}

void RecordingSink::on_layer(const LayerTrace& t) {
  if (t.layer < 0 || t.layer >= static_cast<int>(slots_.size()))
    detail::fail("RecordingSink::on_layer", "layer ", t.layer, " outside [0, ", slots_.size(), ")");
  if (t.tokens != rec_.n || t.heads != heads_)
    detail::fail("RecordingSink::on_layer", "layer ", t.layer, " has ", t.tokens, " tokens and ", t.heads,
                 " heads; the recording was sized for ", rec_.n, " and ", heads_);
  rec_.d_model = t.d_model;
  rec_.kv_heads = t.kv_heads;
  rec_.head_dim = t.head_dim;
  LayerRecord& lr = rec_.layers[static_cast<std::size_t>(t.layer)];
  lr.layer = t.layer;
  lr.selected = selected(t.layer);
  const Slot* slot = slots_[static_cast<std::size_t>(t.layer)].get();
  const std::int64_t n = t.tokens;
  if (slot) {
    auto all = slot->stats.head_rows(0, 0);
    lr.stats.assign(all.begin(), all.begin() + heads_ * n);
    if (slot->rows) {
      lr.full_heads.clear();
      for (int h = 0; h < heads_; ++h) {
        if (!sel_.full_heads.empty() && std::find(sel_.full_heads.begin(), sel_.full_heads.end(), h) == sel_.full_heads.end()) continue;
        std::vector<float> w(static_cast<std::size_t>(n * n)), s(w.size());
        for (std::int64_t i = 0; i < n; ++i) {
          auto wr = slot->rows->weights(h, i), sr = slot->rows->scores(h, i);
          std::copy(wr.begin(), wr.end(), w.begin() + i * n);
          std::copy(sr.begin(), sr.end(), s.begin() + i * n);
        }
        lr.full_heads.push_back(h);
        lr.weights.push_back(std::move(w));
        lr.scores.push_back(std::move(s));
      }
    }
    if (slot->picked) {
      lr.rows = sel_.rows;
      lr.row_weights.assign(static_cast<std::size_t>(heads_ * n) * sel_.rows.size(), 0.0f);
      for (int h = 0; h < heads_; ++h)
        for (std::size_t r = 0; r < sel_.rows.size(); ++r) {
          auto w = slot->picked->weights(h, sel_.rows[r]);
          std::copy(w.begin(), w.end(), lr.row_weights.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(h) * sel_.rows.size() + r) * static_cast<std::size_t>(n)));
        }
    }
    if (slot->thumbs) {
      lr.thumb_rows = slot->thumbs->out_rows();
      lr.thumb_cols = slot->thumbs->out_cols();
      lr.thumb_mean = slot->thumbs->mean();
      lr.thumb_max = slot->thumbs->max();
    }
  }
  if (sel_.activations && (lr.selected || sel_.activations_every_layer)) {
    auto copy = [](const float* p, std::int64_t count, std::vector<float>& dst) {
      if (p) dst.assign(p, p + count); else dst.clear();
    };
    copy(t.resid_pre, n * t.d_model, lr.resid_pre);
    copy(t.resid_mid, n * t.d_model, lr.resid_mid);
    copy(t.resid_post, n * t.d_model, lr.resid_post);
    copy(t.q, n * t.heads * t.head_dim, lr.q);
    copy(t.k, n * t.kv_heads * t.head_dim, lr.k);
    copy(t.v, n * t.kv_heads * t.head_dim, lr.v);
    copy(t.head_out, n * t.heads * t.head_dim, lr.head_out);
    copy(t.attn_out, n * t.d_model, lr.attn_out);
    copy(t.mlp_out, n * t.d_model, lr.mlp_out);
  }
  slots_[static_cast<std::size_t>(t.layer)].reset();  // the N x N rows are now in the recording
}

}  // namespace attend::observe
