#pragma once
// Training the model of attend/model.h: built-in data (synthetic copy, sort and induction tasks,
// byte-level text), AdamW with weight decay, global gradient-norm clipping, linear warm-up then
// cosine decay, gradient accumulation, a seedable data order (the batch of step s depends only on
// (seed, s), so a resumed run sees the same data), checkpoints with optimizer state, and the loss
// curve as CSV and PNG.
//
// Shape letters: B sequences per micro-batch, T tokens per sequence.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/model.h"

namespace attend::nn {

// induction: [noise | r | r], r of length T/2 (a fixed period). induction_random: a run of
// distinct random symbols of random length (T/8 .. T/2, or drawn from TaskData::set_periods)
// repeating from a random offset inside noise, so no fixed period exists and only an induction
// head solves it (it trains much slower).
// search: Saparov et al.'s graph search (attend/search_task.h) as they train it: their balanced
// distribution at maximum input size seq_len (vocab must be (seq_len − 5) / 3 + 5), left-padded,
// one scored answer per sequence at the last position; the lookahead is drawn uniformly from
// 0 .. level, where level (the curriculum's) is at most graph::max_search_lookahead(seq_len).
// Sequences of the held-out set (graph::search_held_out) never appear in training batches.
enum class Task { induction, copy, sort, text, induction_random, search };
Task parse_task(const std::string& name);  // "induction" | "induction-random" | "copy" | "sort" | "text" | "search"
const char* task_name(Task task);

// One batch: tokens [B, T] and next-token targets [B, T] (−1: not scored).
struct Batch {
  std::int64_t B = 0, T = 0;
  std::vector<std::int32_t> tokens, targets;
};

// Which part of the data a batch comes from. Text: the last 10 % of the file (at least seq_len + 1
// bytes) is held out, training windows lie entirely before it and held-out windows inside it.
// Synthetic tasks draw fresh sequences either way (evaluation uses a disjoint seed stream).
enum class Split { train, held_out };

// Task sequences over a vocabulary of `vocab` tokens (the last is the separator). Text reads
// bytes (vocab 256). The batch is a pure function of (seed, index, split).
class TaskData {
 public:
  TaskData(Task task, std::int64_t vocab, std::int64_t seq_len, const std::string& text_path = {});
  ~TaskData();
  TaskData(TaskData&&) noexcept;
  // split: the text task's training or held-out bytes (the synthetic tasks ignore it). level: the
  // curriculum level (search: the largest lookahead drawn), -1 = max_level().
  Batch batch(std::int64_t B, std::uint64_t seed, std::int64_t index, Split split = Split::train, int level = -1) const;
  Task task() const { return task_; }
  int max_level() const;  // search: graph::max_search_lookahead(seq_len); other tasks 0 (no levels)
  // induction-random only: draw the repeat length (period) uniformly from `periods` instead of
  // [max(2, m_max / 4), m_max], m_max = min(T / 2, vocab − 2) (e.g. to hold some periods out of
  // training and test on them). Each must lie in [2, m_max]; empty: the default range. Throws
  // attend::Error for another task or a period out of range.
  void set_periods(std::vector<std::int64_t> periods);
  const std::vector<std::int64_t>& periods() const { return periods_; }
  std::int64_t max_period() const;  // m_max
  // induction-random only: noise gaps of 0 .. max_gap symbols (uniform, each drawn anew) between
  // consecutive copies of r, so the distance between copies varies inside a sequence and no fixed
  // offset predicts the repeats (only content does). Scored: each later copy's tokens but its last
  // (what follows the last came after noise before). 0 (the default): copies back to back.
  void set_max_gap(std::int64_t max_gap);
  std::int64_t max_gap() const { return max_gap_; }
  // Text: bytes [0, held_out_begin()) train, [held_out_begin(), text_bytes()) are held out.
  std::int64_t text_bytes() const { return static_cast<std::int64_t>(text_.size()); }
  std::int64_t held_out_begin() const { return held_begin_; }

 private:
  Task task_;
  std::int64_t vocab_, T_;
  std::string text_;
  std::int64_t held_begin_ = 0;
  std::vector<std::int64_t> periods_;  // induction-random: the periods drawn from (empty: the default range)
  std::int64_t max_gap_ = 0;           // induction-random: noise between copies
  struct HeldOut;
  std::unique_ptr<HeldOut> held_out_;  // search: hashes of the held-out sequences
};

// Every floating-point field must be finite (the Trainer refuses NaN and infinity, and a range
// violation, with a message naming the field).
struct TrainConfig {
  std::int64_t steps = 1000;        // optimizer steps (total, including resumed ones)
  std::int64_t batch = 16;          // sequences per micro-batch
  std::int64_t accum = 1;           // micro-batches per optimizer step
  float lr = 1e-3f, min_lr = 1e-4f;
  std::int64_t warmup = 50;         // linear warm-up steps, then cosine decay to min_lr at `steps`
  float weight_decay = 0.1f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float clip = 1.0f;                // global gradient-norm clip (0: off)
  std::uint64_t seed = 0;           // data order
  std::int64_t log_every = 0;       // progress line every n steps to stderr (0: never)
  // Curriculum (Saparov et al.'s, for tasks with levels): start at level 1 and go up one level when
  // the training accuracy over the last `curriculum_window` steps' batches exceeds the threshold.
  bool curriculum = false;
  double curriculum_threshold = 0.99;
  std::int64_t curriculum_window = 20;
};

struct CurvePoint {
  std::int64_t step = 0;
  double loss = 0, lr = 0, tokens_per_s = 0, grad_norm = 0;
  double accuracy = 0;  // argmax accuracy on the step's scored targets (training data)
  int level = 0;        // curriculum level the step's batches were drawn at
};

// Wall time of the training steps so far by phase (seconds, summed over steps; one steady_clock
// read at each phase boundary). The attention kernels' time is part of forward/backward.
struct PhaseTimes {
  double data = 0, forward = 0, backward = 0, optimizer = 0;  // optimizer: norm, clipping, AdamW
  double attention_forward = 0, attention_backward = 0;      // attend::attention / attention_backward
  double total() const { return data + forward + backward + optimizer; }
};

struct Acts;  // a step's activations and their gradients (internal; kept between steps)

class Trainer {
 public:
  Trainer(Model& model, const TaskData& data, const TrainConfig& config);  // both must outlive it
  // One optimizer step; returns its mean loss. A non-finite loss or gradient norm throws
  // attend::Error ("training diverged at step s ...") before the weights change; an update that
  // makes a weight non-finite throws too (the model can then no longer be saved).
  double step();
  void run();                     // steps until config.steps
  std::int64_t steps_done() const { return step_; }
  int level() const { return level_; }  // the curriculum level of the next step's batches
  const std::vector<CurvePoint>& curve() const { return curve_; }
  float lr_at(std::int64_t step) const;
  const PhaseTimes& phase_times() const { return phases_; }
  void reset_phase_times() { phases_ = {}; }

  // Checkpoint = the model (loadable by Model::load) + AdamW moments + step + curriculum level + loss
  // curve. Saving refuses non-finite weights or moments (the file at `path` is then left as it was);
  // loading refuses them too.
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);  // model weights, moments, step, curve

 private:
  Model& model_;
  const TaskData& data_;
  TrainConfig cfg_;
  std::int64_t step_ = 0;
  int level_ = -1;                       // -1: the task's max level (no curriculum)
  std::int64_t window_right_ = 0, window_total_ = 0, window_steps_ = 0;
  std::vector<float> m_, v_;
  std::vector<CurvePoint> curve_;
  PhaseTimes phases_;
  // Reused by every step: fresh buffers each step cost page faults and zeroing (~15 % of a step).
  std::shared_ptr<Acts> acts_;
};

// Accuracy of argmax predictions on the scored targets of `sequences` (>= 1) held-out sequences
// (Split::held_out: for text the held-out end of the file, else a seed stream disjoint from training's).
double evaluate_accuracy(const Model& model, const TaskData& data, std::int64_t sequences, std::uint64_t seed);
// Mean loss on the same held-out sequences.
double evaluate_loss(const Model& model, const TaskData& data, std::int64_t sequences, std::uint64_t seed);

void write_curve_csv(const std::string& path, const std::vector<CurvePoint>& curve);
void write_curve_png(const std::string& path, const std::vector<CurvePoint>& curve);  // axes + curve

}  // namespace attend::nn
