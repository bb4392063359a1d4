#pragma once
// The interpretability lab: analyses that need both the model runtime (attend/model.h) and the
// observatory (attend/observe*.h) — predictions, logit lens and direct logit attribution of a real
// model, ablations and activation patching through the forward's hooks (attend/trace.h), head
// detectors on repeated random sequences.
//
// Shape letters: L layers, H heads, N tokens, E model width, D head size, V vocabulary.
#include <cstdint>
#include "attend/span.h"
#include <string>
#include <vector>

#include "attend/model.h"
#include "attend/observe.h"
#include "attend/observe_interp.h"
#include "attend/observe_metrics.h"
#include "attend/observe_report.h"
#include "attend/train.h"

namespace attend::lab {

struct HeadRef {
  int layer = 0, head = 0;
  bool operator==(const HeadRef& o) const { return layer == o.layer && head == o.head; }  // written out: C++17
  bool operator!=(const HeadRef& o) const { return !(*this == o); }
};
// "L0H1,L1H3" (also "0.1") -> heads; checked against the model's shape; throws attend::Error.
std::vector<HeadRef> parse_heads(const std::string& text, const nn::ModelConfig& c);
std::string head_name(HeadRef h);  // "L0H1"

// ---- the model as the observatory reads it (views into the model: it must outlive them) -------
observe::Unembedding unembedding(const nn::Model& model);
std::vector<observe::OutputWeights> output_weights(const nn::Model& model);  // [L]
// Every layer's attention weights for the factored EMF analysis; fold_ln: the first norm's gain
// (and, for LayerNorm, the centring) folded into W_Q, W_K, W_V.
std::vector<observe::LayerWeights> emf_weights(const nn::Model& model, bool fold_ln);

// One traced run: the logits [N, V] and a Recording (activations of every layer, statistics,
// thumbnails as `sel` asks). hooks (optional) intervene on the way.
struct Run {
  std::vector<float> logits;  // [N, V]
  observe::Recording rec;
};
Run run(const nn::Model& model, Span<const std::int32_t> tokens, const observe::Selection& sel, ModelHooks* hooks = nullptr,
        const std::string& title = {});
std::vector<int> next_tokens(Span<const std::int32_t> tokens);  // [N]: tokens[i + 1], -1 at the end

// ---- interventions ----------------------------------------------------------------------------
enum class Ablation { zero, mean, resample };
Ablation parse_ablation(const std::string& name);  // "zero" | "mean" | "resample"
const char* ablation_name(Ablation a);

// Replaces the outputs z of `heads` ([N, H, D] slices, all positions) and the outputs of the MLPs of
// `mlps` layers: zero; mean: the mean over the reference sequences and their positions; resample:
// the values at the same positions in the first reference sequence (at least as long as the input).
struct AblationSpec {
  Ablation kind = Ablation::zero;
  std::vector<HeadRef> heads;
  std::vector<int> mlps;
  std::vector<std::vector<std::int32_t>> reference;  // mean / resample: sequences to take values from
};
class AblationHooks : public ModelHooks {
 public:
  AblationHooks(const nn::Model& model, AblationSpec spec);
  bool wants(HookPoint point, int layer) const override;
  void on_activation(const HookSite& site, Span<float> x) override;
  const AblationSpec& spec() const { return spec_; }

 private:
  AblationSpec spec_;
  std::int64_t d_model_ = 0, heads_ = 0, head_dim_ = 0;
  // per layer: replacement z [Nref or 1, H, D] and MLP output [Nref or 1, E] (mean: one row)
  std::vector<std::vector<float>> z_, mlp_;
  std::int64_t rows_ = 0;  // positions held (1 for mean)
};

// Patching from a source run (a Recording with activations of every layer): each Patch overwrites
// the activation at (point, layer) — one head's slice for q, k, v, head_out (head >= 0), one
// position (position >= 0) or all — with the source's. Pattern patches overwrite a head's
// attention pattern with the source's (its exact weights, or recomputed from its q and k).
struct Patch {
  HookPoint point = HookPoint::resid_pre;
  int layer = 0;
  int head = -1;                // q, k, v, head_out: that head only; -1: every head
  std::int64_t position = -1;   // -1: every position
};
class PatchHooks : public ModelHooks {
 public:
  PatchHooks(const observe::Recording& source, std::vector<Patch> patches, std::vector<HeadRef> pattern_heads = {});
  bool wants(HookPoint point, int layer) const override;
  void on_activation(const HookSite& site, Span<float> x) override;
  bool wants_pattern(int layer, int head) const override;
  void on_patterns(int layer, Span<const int> heads, Span<float> patterns, std::int64_t tokens) override;

 private:
  const observe::Recording& src_;
  std::vector<Patch> patches_;
  std::vector<HeadRef> pattern_heads_;
};
// The attention pattern [N, N] of (layer, head) in a recording: its exact weights, else recomputed
// (double precision) from the recorded q and k.
std::vector<float> head_pattern(const observe::Recording& rec, int layer, int head);

// ---- comparison: a clean and a corrupted prompt, patching grids --------------------------------
struct CompareOptions {
  std::int64_t position = -1;  // where the metric is read (-1: the last position)
  int answer = -1, wrong = -1; // tokens of the metric logit(answer) − logit(wrong); -1: the clean and
                               // the corrupted run's top predictions at `position`
  bool noising = true;         // also the reverse grids (corrupted activations into the clean run)
  bool positions = true;       // the layer × position grid of the residual stream
};
// Runs both prompts (same token count), then patches clean activations into the corrupted run
// (denoising) — every head's output (layer × head, all positions), the residual stream entering
// each layer at each position (layer × position), each layer's attention and MLP output — and, when
// noising, the corrupted ones into the clean run. Each cell is the recovered fraction
// (metric_patched − metric_corrupt) / (metric_clean − metric_corrupt).
observe::Comparison compare(const nn::Model& model, Span<const std::int32_t> clean, Span<const std::int32_t> corrupt,
                            const CompareOptions& opts = {});

// ---- head detectors ---------------------------------------------------------------------------
struct DetectorOptions {
  std::vector<int> periods;     // empty: up to 5 periods spread over [3, min(T/2 − 1, symbols)]
  int sequences = 4;            // per period
  std::int64_t length = 0;      // tokens per sequence (0: min(context, 64))
  std::int64_t symbols = 0;     // tokens drawn from [0, symbols) (0: vocab − 1, keeping a task's separator out)
  std::uint64_t seed = 1;
};
observe::HeadDetectors detect_heads(const nn::Model& model, const DetectorOptions& opts = {});

// ---- the induction demo's evidence (`attend demo`, tests) ----------------------------------------
// Argmax accuracy on the scored targets of the held-out sequences nn::evaluate_accuracy(model, data,
// sequences, seed) reads, each run alone through Model::forward with `hooks` (e.g. AblationHooks).
// Without hooks it equals evaluate_accuracy.
double task_accuracy(const nn::Model& model, const nn::TaskData& data, std::int64_t sequences, std::uint64_t seed,
                     ModelHooks* hooks = nullptr);

// What a model trained on induction-random (nn::TaskData::set_periods) does at the periods it trained
// on and at periods it never saw, which heads the detectors call induction (probed at the held-out
// periods, so a head fitting the training periods' positions cannot pass), and what ablating them does.
struct InductionCheckOptions {
  std::vector<std::int64_t> train_periods, held_out_periods;  // repeat lengths; both non-empty, disjoint
  std::int64_t sequences = 256;            // held-out sequences per accuracy
  std::uint64_t seed = 2026;               // their seed (nn::evaluate_accuracy's)
  std::int64_t reference_sequences = 32;   // training-distribution sequences the mean ablation averages over
  int detector_sequences = 8;              // per held-out period (detect_heads)
};
struct InductionCheck {
  std::vector<std::int64_t> train_periods, held_out_periods;
  double chance = 0;                          // 1 / (vocab − 1): a uniform guess among the task's symbols
  double accuracy_train = 0, accuracy_held_out = 0;
  observe::HeadDetectors detectors;
  // Detector kind "induction" or "induction (shift s)" (s: the first one's shift): the head attends
  // to the position s after an earlier copy of the current token (s = 1: the canonical induction head).
  std::vector<HeadRef> induction_heads;
  int shift = 0;
  // In the layers below the first induction head, the positional heads reading `shift` tokens back
  // (what its keys match on; shift 1: the previous-token heads of the canonical circuit).
  std::vector<HeadRef> previous_token_heads;
  HeadRef control{-1, -1};                    // a head in neither set: the least induction-like one of the induction heads' layer
  // Held-out accuracy with those heads ablated (AblationHooks: mean over the reference sequences' positions, or zero); -1: no such heads.
  double without_induction_mean = -1, without_induction_zero = -1, without_previous_mean = -1, without_control_mean = -1;
};
InductionCheck check_induction(const nn::Model& model, const InductionCheckOptions& opts);

// ---- one prompt, every analysis: what `attend inspect` and attend.inspect() run ------------------
struct InspectOptions {
  observe::Selection selection;   // what to record (activations are kept for every layer regardless)
  std::string title;
  bool lens = true, attribution = true, detectors = true, emf = true, flow = true;
  bool fold_ln = false;           // EMF with the first norm folded into W_Q, W_K, W_V
  int top_k = 5;
  AblationSpec ablation;          // heads / MLPs to ablate in the reported run (none: no intervention)
  std::vector<std::int32_t> corrupt;  // a second prompt: compare() against it (patching grids)
  CompareOptions compare;
  DetectorOptions detector;
};
struct Inspection {
  observe::Recording rec;
  observe::ReportOptions report;
  std::vector<float> logits;  // [N, V] of the reported run
};
// Runs `tokens` (with the ablation, if any, and without it for the baseline predictions), then the
// analyses the options ask for. The DLA and lens follow the actual next token at each position and
// the model's top prediction at the last.
Inspection inspect(const nn::Model& model, Span<const std::int32_t> tokens, const InspectOptions& opts);

}  // namespace attend::lab
