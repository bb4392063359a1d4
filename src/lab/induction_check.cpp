// The induction demo's evidence (attend/lab.h): accuracy at trained and held-out periods, the head
// detectors at the held-out periods, and accuracy with the heads they name ablated through the
// forward's hooks.
#include <algorithm>

#include "attend/lab.h"
#include "core/check.h"

namespace attend::lab {

using I64 = std::int64_t;

double task_accuracy(const nn::Model& model, const nn::TaskData& data, I64 sequences, std::uint64_t seed, ModelHooks* hooks) {
  if (sequences < 1) detail::fail("task_accuracy", "sequences must be >= 1, got ", sequences);
  constexpr I64 kBatch = 16;  // nn::evaluate_accuracy's batches: the same sequences
  const I64 V = model.config().vocab;
  I64 right = 0, total = 0;
  for (I64 done = 0, idx = 0; done < sequences; done += kBatch, ++idx) {
    const nn::Batch b = data.batch(std::min(kBatch, sequences - done), seed ^ 0x9e3779b97f4a7c15ull, (1ll << 40) + idx, nn::Split::held_out);
    for (I64 s = 0; s < b.B; ++s) {
      const Span<const std::int32_t> tokens(b.tokens.data() + s * b.T, static_cast<std::size_t>(b.T));
      const Tensor logits = model.forward(tokens, nullptr, hooks);
      const float* l = logits.data_as<float>();
      for (I64 i = 0; i < b.T; ++i) {
        const std::int32_t t = b.targets[static_cast<std::size_t>(s * b.T + i)];
        if (t < 0) continue;
        right += (std::max_element(l + i * V, l + (i + 1) * V) - (l + i * V)) == t;
        ++total;
      }
    }
  }
  return total ? static_cast<double>(right) / static_cast<double>(total) : 0.0;
}

InductionCheck check_induction(const nn::Model& model, const InductionCheckOptions& o) {
  const nn::ModelConfig& c = model.config();
  if (o.train_periods.empty() || o.held_out_periods.empty()) detail::fail("check_induction", "needs training and held-out periods");
  for (I64 p : o.held_out_periods)
    if (std::find(o.train_periods.begin(), o.train_periods.end(), p) != o.train_periods.end())
      detail::fail("check_induction", "period ", p, " is both a training and a held-out period");
  if (o.reference_sequences < 1) detail::fail("check_induction", "reference_sequences must be >= 1, got ", o.reference_sequences);
  InductionCheck r;
  r.train_periods = o.train_periods;
  r.held_out_periods = o.held_out_periods;
  nn::TaskData train(nn::Task::induction_random, c.vocab, c.context), held(nn::Task::induction_random, c.vocab, c.context);
  train.set_periods(o.train_periods);
  held.set_periods(o.held_out_periods);
  r.chance = 1.0 / static_cast<double>(c.vocab - 1);
  r.accuracy_train = task_accuracy(model, train, o.sequences, o.seed);
  r.accuracy_held_out = task_accuracy(model, held, o.sequences, o.seed);

  DetectorOptions det;
  for (I64 p : o.held_out_periods) det.periods.push_back(static_cast<int>(p));
  det.length = c.context;
  det.sequences = o.detector_sequences;
  r.detectors = detect_heads(model, det);
  int first = static_cast<int>(c.layers);
  for (const observe::HeadDetector& h : r.detectors.heads)
    if (h.kind.rfind("induction", 0) == 0) {
      if (r.induction_heads.empty()) r.shift = h.shift;
      r.induction_heads.push_back({h.layer, h.head});
      first = std::min(first, h.layer);
    }
  for (const observe::HeadDetector& h : r.detectors.heads)
    if (h.positional && h.offset == r.shift && h.layer < first) r.previous_token_heads.push_back({h.layer, h.head});
  auto named = [&](HeadRef x) {
    return std::find(r.induction_heads.begin(), r.induction_heads.end(), x) != r.induction_heads.end() ||
           std::find(r.previous_token_heads.begin(), r.previous_token_heads.end(), x) != r.previous_token_heads.end();
  };
  double least = 2;
  for (const observe::HeadDetector& h : r.detectors.heads)
    if (!named({h.layer, h.head}) && (r.induction_heads.empty() || h.layer == first) && h.induction < least) {
      least = h.induction;
      r.control = {h.layer, h.head};
    }

  AblationSpec mean;
  mean.kind = Ablation::mean;
  for (I64 s = 0; s < o.reference_sequences; ++s) {  // training-distribution sequences, a stream of their own
    const nn::Batch b = train.batch(1, o.seed + 77, s);
    mean.reference.push_back(b.tokens);
  }
  auto ablated = [&](const std::vector<HeadRef>& heads, Ablation kind) {
    if (heads.empty()) return -1.0;
    AblationSpec spec = kind == Ablation::mean ? mean : AblationSpec{};
    spec.heads = heads;
    AblationHooks hooks(model, spec);
    return task_accuracy(model, held, o.sequences, o.seed, &hooks);
  };
  r.without_induction_mean = ablated(r.induction_heads, Ablation::mean);
  r.without_induction_zero = ablated(r.induction_heads, Ablation::zero);
  r.without_previous_mean = ablated(r.previous_token_heads, Ablation::mean);
  if (r.control.layer >= 0) r.without_control_mean = ablated({r.control}, Ablation::mean);
  return r;
}

}  // namespace attend::lab
