// attend train: trains a model on a built-in task (or a text file) and saves a checkpoint.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <string>

#include "attend/attend.h"
#include "command.h"
#include "graph_demo.h"
#include "inspect_common.h"
#include "core/check.h"
#include "cli_paths.h"
#include "core/printable.h"
#include "model_cli.h"

namespace attend::cli {

void add_model_options(CLI::App& sub, ModelArgs& a) {
  sub.add_option("--vocab", a.vocab, "vocabulary (default: 256 for text, (seq_len - 5) / 3 + 5 for search, 16 for the other synthetic tasks)");
  sub.add_option("--layers", a.layers, "transformer blocks")->capture_default_str();
  sub.add_option("--d-model", a.d_model, "model width")->capture_default_str();
  sub.add_option("--heads", a.heads, "attention heads")->capture_default_str();
  sub.add_option("--kv-heads", a.kv_heads, "key/value heads (GQA; default = heads)");
  sub.add_option("--d-ff", a.d_ff, "MLP width (default 4·d_model)");
  sub.add_option("--norm", a.norm, "layernorm | rmsnorm")->check(CLI::IsMember({"layernorm", "rmsnorm"}))->capture_default_str();
  sub.add_option("--position", a.position, "learned | rope")->check(CLI::IsMember({"learned", "rope"}))->capture_default_str();
  sub.add_option("--mlp", a.mlp, "gelu | swiglu")->check(CLI::IsMember({"gelu", "swiglu"}))->capture_default_str();
  sub.add_flag("--untied", a.untied, "separate unembedding matrix");
  sub.add_flag("--no-bias", a.no_bias, "no biases in linear layers and norms");
}

nn::ModelConfig model_config(const ModelArgs& a, nn::Task task, std::int64_t seq_len) {
  nn::ModelConfig c;
  c.vocab = a.vocab > 0                ? a.vocab
            : task == nn::Task::text     ? 256
            : task == nn::Task::search   ? graph::search_encoding(seq_len).vocab  // (seq_len − 5) / 3 + 5
                                         : 16;
  c.context = seq_len;
  c.layers = a.layers;
  c.d_model = a.d_model;
  c.heads = a.heads;
  c.kv_heads = a.kv_heads > 0 ? a.kv_heads : a.heads;
  c.d_ff = a.d_ff > 0 ? a.d_ff : 4 * a.d_model;
  c.norm = a.norm == "rmsnorm" ? nn::NormKind::rmsnorm : nn::NormKind::layernorm;
  c.position = a.position == "rope" ? nn::PositionKind::rope : nn::PositionKind::learned;
  c.mlp = a.mlp == "swiglu" ? nn::MlpKind::swiglu : nn::MlpKind::gelu;
  c.tied_embeddings = !a.untied;
  c.bias = !a.no_bias;
  return c;
}

namespace {

struct TrainArgs {
  ModelArgs model;
  nn::TrainConfig train;
  std::string task = "induction", data, out = "model.safetensors", resume, curve;
  std::string periods, held_out_periods;  // induction-random: e.g. "3-6,8-10"
  std::int64_t max_gap = 0;               // induction-random: noise between copies
  std::int64_t seq_len = 64, eval_sequences = 256, eval_every = 0, save_every = 0;
  std::uint64_t init_seed = 1;
  int threads = 0;
};

int run_train(TrainArgs a) {
  const nn::Task task = nn::parse_task(a.task);
  // Every file argument and count is checked before a single step runs.
  require_positive("train", "--steps", a.train.steps);
  require_positive("train", "--batch", a.train.batch);
  require_positive("train", "--accum", a.train.accum);
  require_positive("train", "--seq-len", a.seq_len);
  require_positive("train", "--eval-sequences", a.eval_sequences);
  if (a.train.log_every < 0) detail::fail("train", "--log-every must be >= 0, got ", a.train.log_every);
  const std::string curve = a.curve.empty() ? std::filesystem::path(a.out).replace_extension("").string() + ".loss" : a.curve;
  PathCheck("train")
      .input("--data", task == nn::Task::text ? a.data : "")
      .input("--resume", a.resume, /*replaceable=*/true)
      .output("--out", a.out, {".safetensors"})
      .output("--curve (csv)", curve + ".csv", {".csv"})
      .output("--curve (png)", curve + ".png", {".png"})
      .check();
  if (a.threads > 0) set_num_threads(a.threads);
  const nn::ModelConfig cfg = model_config(a.model, task, a.seq_len);
  nn::Model model = a.resume.empty() ? nn::Model(cfg, a.init_seed) : nn::Model::load(a.resume);
  nn::TaskData data(task, model.config().vocab, a.seq_len, a.data);
  // induction-random: train on some periods, measure on others the training never drew.
  std::vector<std::int64_t> train_periods, held_periods;
  for (int p : parse_int_list(a.periods, "--periods", "train")) train_periods.push_back(p);
  for (int p : parse_int_list(a.held_out_periods, "--held-out-periods", "train")) held_periods.push_back(p);
  if ((!train_periods.empty() || !held_periods.empty()) && task != nn::Task::induction_random)
    detail::fail("train", "--periods and --held-out-periods apply to --task induction-random, not ", a.task);
  if (!held_periods.empty() && train_periods.empty())
    detail::fail("train", "--held-out-periods needs --periods (the default range would train on them)");
  for (std::int64_t p : held_periods)
    if (std::find(train_periods.begin(), train_periods.end(), p) != train_periods.end())
      detail::fail("train", "held-out period ", p, " is also in --periods ", a.periods);
  if (!train_periods.empty()) data.set_periods(train_periods);
  if (a.max_gap != 0) {
    if (task != nn::Task::induction_random) detail::fail("train", "--max-gap applies to --task induction-random, not ", a.task);
    data.set_max_gap(a.max_gap);
  }
  std::unique_ptr<nn::TaskData> held_data;
  if (!held_periods.empty()) {
    held_data = std::make_unique<nn::TaskData>(task, model.config().vocab, a.seq_len, a.data);
    held_data->set_periods(held_periods);
  }
  if (task == nn::Task::text)
    std::fprintf(stderr, "text: %lld bytes of %s; the last %lld (10 %%) are held out for evaluation\n", static_cast<long long>(data.text_bytes()),
                 printable(a.data).c_str(), static_cast<long long>(data.text_bytes() - data.held_out_begin()));
  if (a.train.log_every == 0) a.train.log_every = std::max<std::int64_t>(1, a.train.steps / 20);
  nn::Trainer trainer(model, data, a.train);
  if (!a.resume.empty()) {
    trainer.load_checkpoint(a.resume);
    std::fprintf(stderr, "resumed %s at step %lld\n", printable(a.resume).c_str(), static_cast<long long>(trainer.steps_done()));
  }
  std::fprintf(stderr, "training %s: %lld layers, width %lld, %lld heads (%lld KV), vocab %lld, context %lld, %lld steps of %lld x %lld tokens; %d threads\n",
               a.task.c_str(), static_cast<long long>(model.config().layers), static_cast<long long>(model.config().d_model),
               static_cast<long long>(model.config().heads), static_cast<long long>(model.config().kv_heads),
               static_cast<long long>(model.config().vocab), static_cast<long long>(a.seq_len), static_cast<long long>(a.train.steps),
               static_cast<long long>(a.train.batch * a.train.accum), static_cast<long long>(a.seq_len), num_threads());
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const double done_before = trainer.curve().empty() ? 0.0 : static_cast<double>(trainer.steps_done());
    while (trainer.steps_done() < a.train.steps) {
      trainer.step();
      const std::int64_t s = trainer.steps_done();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (a.eval_every > 0 && (s % a.eval_every == 0 || s == a.train.steps) && task == nn::Task::search) {
        // Held-out accuracy by lookahead (the first 100 held-out graphs of each), for the learning curve.
        // CPU seconds of the process (std::clock) beside the wall seconds: the curve's time axis where the machine is shared.
        std::fprintf(stderr, "eval step %lld (%.0f s this run, %.0f CPU s, %.0f steps/s, level %d): held-out accuracy by lookahead",
                     static_cast<long long>(s), secs, static_cast<double>(std::clock()) / CLOCKS_PER_SEC,
                     (static_cast<double>(s) - done_before) / std::max(secs, 1e-9), trainer.level() < 0 ? data.max_level() : trainer.level());
        for (int la = 1; la <= graph::max_search_lookahead(a.seq_len); ++la)
          std::fprintf(stderr, " %d:%.3f", la, graph::search_accuracy(model, la, 100));
        std::fprintf(stderr, "\n");
      }
      if (a.save_every > 0 && s % a.save_every == 0 && s < a.train.steps) trainer.save_checkpoint(a.out);  // resumable
    }
    std::fprintf(stderr, "trained to step %lld in %.1f s (this run)\n", static_cast<long long>(trainer.steps_done()),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    trainer.save_checkpoint(a.out);
  } catch (const Error& e) {  // a diverged run: say that the previous checkpoint (if any) is intact
    const bool kept = std::filesystem::exists(a.out);
    detail::fail("train", e.what(), "; nothing was saved", kept ? ", " + a.out + " is the previous file, unchanged" : std::string());
  }
  nn::write_curve_csv(curve + ".csv", trainer.curve());
  nn::write_curve_png(curve + ".png", trainer.curve());
  const double acc = nn::evaluate_accuracy(model, data, a.eval_sequences, a.train.seed + 1);
  const double loss = nn::evaluate_loss(model, data, a.eval_sequences, a.train.seed + 1);
  if (task == nn::Task::text)
    std::printf("held-out (%lld windows from the last %lld bytes of %s, never trained on): loss %.4f, next-token accuracy %.2f%%\n",
                static_cast<long long>(a.eval_sequences), static_cast<long long>(data.text_bytes() - data.held_out_begin()),
                printable(a.data).c_str(), loss, 100 * acc);
  else
    std::printf("held-out (%lld fresh sequences%s, a seed stream training never used): loss %.4f, next-token accuracy %.2f%%\n",
                static_cast<long long>(a.eval_sequences), train_periods.empty() ? "" : (" of the training periods " + a.periods).c_str(), loss, 100 * acc);
  if (held_data)
    std::printf("held-out periods %s (never trained on; %lld fresh sequences): loss %.4f, next-token accuracy %.2f%%\n", a.held_out_periods.c_str(),
                static_cast<long long>(a.eval_sequences), nn::evaluate_loss(model, *held_data, a.eval_sequences, a.train.seed + 1),
                100 * nn::evaluate_accuracy(model, *held_data, a.eval_sequences, a.train.seed + 1));
  if (task == nn::Task::search) print_search_summary(model, 500);
  std::printf("saved %s, loss curve %s.csv and %s.png\n", printable(a.out).c_str(), printable(curve).c_str(), printable(curve).c_str());
  return 0;
}

const bool registered = register_command("train", "train a small transformer on a built-in task or a text file", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  sub.add_option("--task", a->task, "induction | induction-random | copy | sort | text | search")->check(CLI::IsMember({"induction", "induction-random", "copy", "sort", "text", "search"}))->capture_default_str();
  sub.add_option("--data", a->data, "text file for --task text (byte-level)");
  sub.add_option("--periods", a->periods, "induction-random: repeat lengths to train on, e.g. 3-6,8,10-16 (default: T/8 .. T/2)");
  sub.add_option("--max-gap", a->max_gap, "induction-random: noise gaps of 0..G symbols between copies (no fixed offset predicts them)")->capture_default_str();
  sub.add_option("--held-out-periods", a->held_out_periods, "induction-random: repeat lengths never trained on, evaluated at the end (needs --periods without them)");
  sub.add_option("--steps", a->train.steps, "optimizer steps")->capture_default_str();
  sub.add_option("--batch", a->train.batch, "sequences per micro-batch")->capture_default_str();
  sub.add_option("--accum", a->train.accum, "micro-batches per step (gradient accumulation)")->capture_default_str();
  sub.add_option("--seq-len", a->seq_len, "tokens per sequence (= model context)")->capture_default_str();
  sub.add_option("--lr", a->train.lr, "peak learning rate")->capture_default_str();
  sub.add_option("--min-lr", a->train.min_lr, "final learning rate of the cosine decay")->capture_default_str();
  sub.add_option("--warmup", a->train.warmup, "linear warm-up steps")->capture_default_str();
  sub.add_option("--weight-decay", a->train.weight_decay, "AdamW weight decay")->capture_default_str();
  sub.add_option("--clip", a->train.clip, "gradient-norm clip (0: off)")->capture_default_str();
  sub.add_option("--seed", a->train.seed, "data order seed")->capture_default_str();
  sub.add_option("--init-seed", a->init_seed, "weight initialisation seed")->capture_default_str();
  sub.add_option("--log-every", a->train.log_every, "progress line every n steps (default steps/20)");
  sub.add_option("--eval-sequences", a->eval_sequences, "held-out sequences for the final accuracy (text: windows of the last 10 % of --data)")->capture_default_str();
  sub.add_option("--out", a->out, "checkpoint (safetensors, with optimizer state)")->capture_default_str();
  sub.add_option("--resume", a->resume, "continue from a checkpoint written by attend train");
  sub.add_option("--curve", a->curve, "loss curve path prefix (writes PREFIX.csv, PREFIX.png; default OUT without extension + .loss)");
  sub.add_option("--threads", a->threads, "worker threads (0: all cores; attend's pool runs every product of the model)");
  sub.add_flag("--curriculum", a->train.curriculum, "start at level 1 (search: lookahead 0 .. 1) and go up a level when training accuracy exceeds the threshold (Saparov et al.)");
  sub.add_option("--curriculum-threshold", a->train.curriculum_threshold, "training accuracy that moves the curriculum up")->capture_default_str();
  sub.add_option("--curriculum-window", a->train.curriculum_window, "steps whose batches the accuracy is measured over")->capture_default_str();
  sub.add_option("--eval-every", a->eval_every, "search: print held-out accuracy by lookahead every n steps (0: never)");
  sub.add_option("--save-every", a->save_every, "write the checkpoint every n steps (resume with --resume)");
  add_model_options(sub, a->model);
  return [a] { return run_train(*a); };
});

}  // namespace
}  // namespace attend::cli
