// The training loop: micro-batches, accumulation, clipping, schedule, AdamW, checkpoints, eval.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "attend/safetensors.h"
#include "attend/train.h"
#include "core/check.h"
#include "io/json_limits.h"
#include "nn/model_impl.h"
#include "nn/layers.h"
#include "nn/model_io.h"
#include "nn/optimizer.h"

namespace attend::nn {

using I64 = std::int64_t;

namespace {

// Every floating-point hyper-parameter: finite and inside its range, else a message naming it.
void check_hyper(const char* name, float v, bool ok, const char* range) {
  if (!std::isfinite(v) || !ok) detail::fail("Trainer", name, " must be a finite number ", range, ", got ", v);
}

}  // namespace

Trainer::Trainer(Model& model, const TaskData& data, const TrainConfig& config) : model_(model), data_(data), cfg_(config) {
  if (cfg_.steps < 0 || cfg_.batch < 1 || cfg_.accum < 1 || cfg_.warmup < 0)
    detail::fail("Trainer", "bad configuration: steps ", cfg_.steps, ", batch ", cfg_.batch, ", accum ", cfg_.accum, ", warmup ", cfg_.warmup);
  check_hyper("lr", cfg_.lr, cfg_.lr > 0, "> 0");
  check_hyper("min_lr", cfg_.min_lr, cfg_.min_lr >= 0, ">= 0");
  check_hyper("weight_decay", cfg_.weight_decay, cfg_.weight_decay >= 0, ">= 0");
  check_hyper("beta1", cfg_.beta1, cfg_.beta1 >= 0 && cfg_.beta1 < 1, "in [0, 1)");
  check_hyper("beta2", cfg_.beta2, cfg_.beta2 >= 0 && cfg_.beta2 < 1, "in [0, 1)");
  check_hyper("eps", cfg_.eps, cfg_.eps > 0, "> 0");
  check_hyper("clip", cfg_.clip, cfg_.clip >= 0, ">= 0 (0: off)");
  const Batch probe = data_.batch(1, cfg_.seed, 0);
  if (probe.T > model.config().context)
    detail::fail("Trainer", "sequence length ", probe.T, " exceeds the model context ", model.config().context);
  if (data_.task() == Task::text && model.config().vocab != 256)
    detail::fail("Trainer", "the text task needs a byte-level model (vocab 256), got vocab ", model.config().vocab);
  if (cfg_.curriculum && (cfg_.curriculum_window < 1 || !(cfg_.curriculum_threshold > 0 && cfg_.curriculum_threshold <= 1)))
    detail::fail("Trainer", "curriculum needs window >= 1 and threshold in (0, 1], got ", cfg_.curriculum_window, ", ", cfg_.curriculum_threshold);
  level_ = cfg_.curriculum && data_.max_level() > 1 ? 1 : -1;
  model.impl().make_trainable();  // a loaded model gets its f32 parameters and gradients only now
  m_.assign(model.impl().params.size(), 0.0f);
  v_.assign(model.impl().params.size(), 0.0f);
}

// Linear warm-up to lr, then cosine decay to min_lr at the last step.
float Trainer::lr_at(I64 s) const {
  if (s < cfg_.warmup) return cfg_.lr * static_cast<float>(s + 1) / static_cast<float>(cfg_.warmup);
  const I64 span = std::max<I64>(1, cfg_.steps - cfg_.warmup);
  const double t = std::min(1.0, static_cast<double>(s - cfg_.warmup) / static_cast<double>(span));
  return static_cast<float>(cfg_.min_lr + 0.5 * (cfg_.lr - cfg_.min_lr) * (1 + std::cos(M_PI * t)));
}

double Trainer::step() {
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point& t) {  // seconds since t; moves t to now
    const auto now = Clock::now();
    const double s = std::chrono::duration<double>(now - t).count();
    t = now;
    return s;
  };
  Model::Impl& m = model_.impl();
  const auto t0 = Clock::now();
  auto t = t0;
  std::vector<Batch> micro;
  I64 scored = 0;
  for (I64 i = 0; i < cfg_.accum; ++i) {
    micro.push_back(data_.batch(cfg_.batch, cfg_.seed, step_ * cfg_.accum + i, Split::train, level_));
    for (std::int32_t tg : micro.back().targets) scored += tg >= 0;
  }
  std::fill(m.grads.begin(), m.grads.end(), 0.0f);
  phases_.data += since(t);
  double loss = 0;
  I64 right = 0;
  if (!acts_) acts_ = std::make_shared<Acts>();
  Acts& acts = *acts_;
  acts.attention_forward_s = acts.attention_backward_s = 0;  // this step's share (the buffers are reused)
  const I64 V = m.config.vocab;
  for (const Batch& b : micro) {  // gradients of the mean loss over every scored target of the step
    m.forward(b.tokens.data(), b.B, b.T, acts, nullptr, nullptr);
    for (I64 r = 0; r < b.B * b.T; ++r) {  // training accuracy (backward overwrites the logits)
      const std::int32_t tg = b.targets[static_cast<std::size_t>(r)];
      if (tg < 0) continue;
      const float* l = acts.logits.data() + r * V;
      right += (std::max_element(l, l + V) - l) == tg;
    }
    phases_.forward += since(t);
    I64 counted = 0;
    loss += m.backward(b.tokens.data(), b.targets.data(), acts, 1.0f / static_cast<float>(std::max<I64>(1, scored)), &counted);
    phases_.backward += since(t);
  }
  phases_.attention_forward += acts.attention_forward_s;
  phases_.attention_backward += acts.attention_backward_s;
  loss /= static_cast<double>(std::max<I64>(1, scored));
  const double norm = grad_norm(m.grads);
  const float lr = lr_at(step_);
  // A diverged run stops here, before its weights change: they are still the last finite ones.
  if (!std::isfinite(loss) || !std::isfinite(norm))
    detail::fail("Trainer::step", "training diverged at step ", step_ + 1, ": loss ", loss, ", gradient norm ", norm, " (lr ", lr,
                 "); the weights were not updated");
  if (cfg_.clip > 0 && norm > cfg_.clip) scale_grads(m.grads, static_cast<float>(cfg_.clip / norm));
  adamw_update(m, m_, v_, {lr, cfg_.beta1, cfg_.beta2, cfg_.eps, cfg_.weight_decay, step_ + 1});
  if (const std::string bad = first_nonfinite(m, m.params, ""); !bad.empty())
    detail::fail("Trainer::step", "training diverged at step ", step_ + 1, ": the update (lr ", lr, ") made ", bad,
                 "; this model can no longer be saved");
  phases_.optimizer += since(t);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tps = static_cast<double>(cfg_.accum * cfg_.batch * micro[0].T) / std::max(secs, 1e-9);
  ++step_;
  const double accuracy = static_cast<double>(right) / static_cast<double>(std::max<I64>(1, scored));
  curve_.push_back({step_, loss, lr, tps, norm, accuracy, level_ < 0 ? data_.max_level() : level_});
  if (level_ >= 1 && level_ < data_.max_level()) {  // curriculum: one level up after a window above threshold
    window_right_ += right, window_total_ += scored, ++window_steps_;
    if (window_steps_ >= cfg_.curriculum_window) {
      const double acc = static_cast<double>(window_right_) / static_cast<double>(std::max<I64>(1, window_total_));
      if (acc > cfg_.curriculum_threshold) {
        ++level_;
        if (cfg_.log_every > 0)
          std::fprintf(stderr, "step %lld: training accuracy %.4f > %.2f, curriculum level (max lookahead) now %d\n",
                       static_cast<long long>(step_), acc, cfg_.curriculum_threshold, level_);
      }
      window_right_ = window_total_ = window_steps_ = 0;
    }
  }
  if (cfg_.log_every > 0 && (step_ % cfg_.log_every == 0 || step_ == cfg_.steps)) {
    const int width = 24, filled = static_cast<int>(width * step_ / std::max<I64>(1, cfg_.steps));
    std::fprintf(stderr, "[%s%s] step %lld/%lld | loss %.4f | acc %.3f | level %d | lr %.2e | grad %.2f | %.0f tok/s\n",
                 std::string(static_cast<std::size_t>(std::min(filled, width)), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - std::min(filled, width)), '.').c_str(),
                 static_cast<long long>(step_), static_cast<long long>(cfg_.steps), loss, accuracy, curve_.back().level, lr, norm, tps);
  }
  return loss;
}

void Trainer::run() {
  while (step_ < cfg_.steps) step();
}

void Trainer::save_checkpoint(const std::string& path) const {
  const Model::Impl& m = model_.impl();
  for (const auto& [buffer, prefix] : {std::pair{&m.params, ""}, std::pair{&m_, "opt.m."}, std::pair{&v_, "opt.v."}})
    if (const std::string bad = first_nonfinite(m, *buffer, prefix); !bad.empty())
      detail::fail("Trainer::save_checkpoint", "refusing to write a non-finite model to ", path, ": ", bad, " (", path, " was left as it was)");
  std::vector<SafeTensorRef> refs = param_refs(m, m.params, "");
  for (auto& r : param_refs(m, m_, "opt.m.")) refs.push_back(r);
  for (auto& r : param_refs(m, v_, "opt.v.")) refs.push_back(r);
  nlohmann::json curve = nlohmann::json::array();
  for (const CurvePoint& p : curve_) curve.push_back({p.step, p.loss, p.lr, p.tokens_per_s, p.grad_norm, p.accuracy, p.level});
  nlohmann::json state = {{"step", step_}, {"seed", cfg_.seed}, {"task", task_name(data_.task())}, {"level", level_}, {"curve", curve}};
  write_safetensors(path, refs, {{"attend_config", config_to_json(m.config)}, {"train_state", state.dump()}});
}

void Trainer::load_checkpoint(const std::string& path) {
  const SafetensorsFile f = read_safetensors(path);
  auto cfg = f.metadata.find("attend_config");
  if (cfg == f.metadata.end()) detail::fail("Trainer::load_checkpoint", path, ": no attend_config metadata (not an attend checkpoint)");
  const ModelConfig loaded = config_from_json(cfg->second, path);
  Model::Impl& m = model_.impl();
  if (config_to_json(loaded) != config_to_json(m.config))
    detail::fail("Trainer::load_checkpoint", path, ": model configuration ", config_to_json(loaded), " differs from ", config_to_json(m.config));
  // A diverged run's state (NaN, ±inf) would make every later step garbage: refused, nothing changed.
  auto read_finite = [&](std::vector<float>& buffer, const std::string& prefix) {
    read_params(f, path, m, buffer, prefix);
    if (const std::string bad = first_nonfinite(m, buffer, prefix); !bad.empty())
      detail::fail("Trainer::load_checkpoint", path, ": ", bad, " (a diverged training run?)");
  };
  std::vector<float> weights, opt_m, opt_v;
  read_finite(weights, "");
  read_finite(opt_m, "opt.m.");
  read_finite(opt_v, "opt.v.");
  std::copy(weights.begin(), weights.end(), m.params.begin());  // in place: the weight views point into params
  m_ = std::move(opt_m);
  v_ = std::move(opt_v);
  auto it = f.metadata.find("train_state");
  if (it == f.metadata.end()) detail::fail("Trainer::load_checkpoint", path, ": no train_state metadata (a model-only file?)");
  try {
    const nlohmann::json s = io::parse_json_bounded(it->second, 3, "Trainer::load_checkpoint", path, "train_state metadata");
    step_ = s.at("step").get<I64>();
    if (s.contains("level")) level_ = s.at("level").get<int>();
    curve_.clear();
    for (const auto& p : s.at("curve"))
      curve_.push_back({p.at(0).get<I64>(), p.at(1).get<double>(), p.at(2).get<double>(), p.at(3).get<double>(), p.at(4).get<double>(),
                        p.size() > 5 ? p.at(5).get<double>() : 0.0, p.size() > 6 ? p.at(6).get<int>() : 0});
  } catch (const nlohmann::json::exception& e) {
    detail::fail("Trainer::load_checkpoint", path, ": bad train_state (", e.what(), ")");
  }
  if (level_ < -1 || level_ > data_.max_level())
    detail::fail("Trainer::load_checkpoint", path, ": curriculum level ", level_, " is outside [-1, ", data_.max_level(), "]");
  if (step_ < 0 || static_cast<I64>(curve_.size()) != step_)
    detail::fail("Trainer::load_checkpoint", path, ": step ", step_, " does not match a curve of ", curve_.size(), " points");
}

namespace {

template <typename Fn>
void for_eval_batches(const Model& model, const TaskData& data, I64 sequences, std::uint64_t seed, Fn fn) {
  constexpr I64 kBatch = 16;
  Acts acts;
  acts.for_backward = false;  // evaluation: no backward follows, one layer's buffers suffice
  if (sequences < 1) detail::fail("evaluate", "sequences must be >= 1, got ", sequences);
  for (I64 done = 0, idx = 0; done < sequences; done += kBatch, ++idx) {
    const Batch b = data.batch(std::min(kBatch, sequences - done), seed ^ 0x9e3779b97f4a7c15ull, (1ll << 40) + idx, Split::held_out);
    model.impl().forward(b.tokens.data(), b.B, b.T, acts, nullptr, nullptr);
    fn(b, acts);
  }
}

}  // namespace

double evaluate_accuracy(const Model& model, const TaskData& data, I64 sequences, std::uint64_t seed) {
  const I64 V = model.config().vocab;
  I64 right = 0, total = 0;
  for_eval_batches(model, data, sequences, seed, [&](const Batch& b, const Acts& a) {
    for (I64 r = 0; r < b.B * b.T; ++r) {
      if (b.targets[static_cast<std::size_t>(r)] < 0) continue;
      const float* l = a.logits.data() + r * V;
      right += (std::max_element(l, l + V) - l) == b.targets[static_cast<std::size_t>(r)];
      ++total;
    }
  });
  return total ? static_cast<double>(right) / static_cast<double>(total) : 0.0;
}

double evaluate_loss(const Model& model, const TaskData& data, I64 sequences, std::uint64_t seed) {
  double loss = 0;
  I64 total = 0;
  for_eval_batches(model, data, sequences, seed, [&](const Batch& b, const Acts& a) {
    I64 n = 0;
    loss += crossentropy_forward_backward(nullptr, a.logits.data(), b.targets.data(), b.B * b.T, model.config().vocab, 1.0f, &n);
    total += n;
  });
  return total ? loss / static_cast<double>(total) : 0.0;
}

}  // namespace attend::nn
