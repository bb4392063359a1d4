// attend eval: held-out loss and next-token accuracy of a checkpoint on a task.
#include <cstdio>
#include <string>

#include "attend/attend.h"
#include "cli_paths.h"
#include "command.h"
#include "core/check.h"
#include "core/printable.h"
#include "graph_demo.h"
#include "induction_report.h"
#include "inspect_common.h"

namespace attend::cli {
namespace {

struct EvalArgs {
  std::string model, task = "induction", data, periods, held_out_periods;
  std::int64_t seq_len = 0, sequences = 256;
  std::uint64_t seed = 1;
  int threads = 0;
  bool allow_nonfinite = false;
};

int run_eval(const EvalArgs& a) {
  const nn::Task task = nn::parse_task(a.task);
  PathCheck("eval").model("--model", a.model).input("--data", task == nn::Task::text ? a.data : "").check();
  require_positive("eval", "--sequences", a.sequences);
  if (a.seq_len < 0) detail::fail("eval", "--seq-len must be >= 1 (or 0: the model context), got ", a.seq_len);
  if (a.threads > 0) set_num_threads(a.threads);
  const nn::Model model = nn::Model::load(a.model, {.allow_nonfinite = a.allow_nonfinite});
  const std::int64_t T = a.seq_len > 0 ? a.seq_len : model.config().context;
  nn::TaskData data(task, model.config().vocab, T, a.data);
  std::vector<std::int64_t> periods;
  for (int p : parse_int_list(a.periods, "--periods", "eval")) periods.push_back(p);
  if (!periods.empty()) {
    if (task != nn::Task::induction_random) detail::fail("eval", "--periods applies to --task induction-random, not ", a.task);
    data.set_periods(periods);
  }
  const double loss = nn::evaluate_loss(model, data, a.sequences, a.seed);
  const double acc = nn::evaluate_accuracy(model, data, a.sequences, a.seed);
  std::printf("%s on %s (%lld sequences of %lld tokens%s): loss %.4f, next-token accuracy %.2f%%\n", printable(a.model).c_str(),
              a.task.c_str(), static_cast<long long>(a.sequences), static_cast<long long>(T),
              task == nn::Task::text ? ", from the held-out last 10 % of --data" : "", loss, 100 * acc);
  if (data.task() == nn::Task::search) print_search_summary(model, static_cast<int>(a.sequences));
  if (!a.held_out_periods.empty()) {  // induction-random: trained vs held-out periods, detectors, ablations
    if (task != nn::Task::induction_random) detail::fail("eval", "--held-out-periods applies to --task induction-random, not ", a.task);
    if (T != model.config().context) detail::fail("eval", "--held-out-periods measures at the model context ", model.config().context, ", not --seq-len ", T);
    lab::InductionCheckOptions o;
    if (periods.empty()) detail::fail("eval", "--held-out-periods needs --periods (the periods the model trained on)");
    o.train_periods = periods;
    for (int p : parse_int_list(a.held_out_periods, "--held-out-periods", "eval")) o.held_out_periods.push_back(p);
    o.sequences = a.sequences;
    o.seed = a.seed;
    print_induction_check(lab::check_induction(model, o), a.sequences);
  }
  return 0;
}

const bool registered = register_command("eval", "held-out loss and accuracy of a checkpoint on a task", [](CLI::App& sub) {
  auto a = std::make_shared<EvalArgs>();
  sub.add_option("--model", a->model, "checkpoint")->required();
  sub.add_option("--task", a->task, "induction | induction-random | copy | sort | text | search")->check(CLI::IsMember({"induction", "induction-random", "copy", "sort", "text", "search"}))->capture_default_str();
  sub.add_option("--data", a->data, "text file for --task text");
  sub.add_option("--periods", a->periods, "induction-random: the periods the model trained on, e.g. 3-6,8 (with --held-out-periods)");
  sub.add_option("--held-out-periods", a->held_out_periods, "induction-random: also measure periods it never trained on, the head detectors there and ablations");
  sub.add_option("--seq-len", a->seq_len, "tokens per sequence (default: the model context)");
  sub.add_option("--sequences", a->sequences, "held-out sequences")->capture_default_str();
  sub.add_option("--seed", a->seed, "held-out seed")->capture_default_str();
  sub.add_option("--threads", a->threads, "worker threads (0: all cores; attend's pool runs every product of the model)");
  sub.add_flag("--allow-nonfinite", a->allow_nonfinite, "load a checkpoint even if it holds NaN or infinite weights");
  return [a] { return run_eval(*a); };
});

}  // namespace
}  // namespace attend::cli
