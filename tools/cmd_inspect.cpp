// attend inspect: run a checkpoint on a prompt with the observatory attached and write the HTML
// report (predictions, logit lens, direct logit attribution, head detectors, factored EMF operators,
// thumbnails of every head, …), PNG heatmaps, routing graphs and JSON into --out.
// attend compare: the same for a clean prompt, plus activation patching against a corrupted one.
#include <cstdio>
#include <string>

#include "attend/lab.h"
#include "attend/observe_report.h"
#include "cli_paths.h"
#include "attend/runtime.h"
#include "command.h"
#include "core/printable.h"
#include "core/check.h"
#include "inspect_common.h"

namespace attend::cli {
namespace {

struct InspectArgs {
  std::string ckpt, prompt, layers, heads, rows, out = "attend_report", ablate, ablation = "zero", corrupt;
  std::vector<std::string> reference;
  std::int64_t thumbnail = 256, position = -1;
  int threads = 0;
  std::string answer, wrong;
  bool emf = true, fold_ln = false, lens = true, dla = true, detectors = true, allow_nonfinite = false;
};

std::vector<std::int32_t> encode_prompt(const nn::Model& model, const std::string& text, const char* what) {
  const std::vector<std::int32_t> ids = model.encode(text);
  if (ids.empty() || static_cast<std::int64_t>(ids.size()) > model.config().context)
    detail::fail("inspect", what, " is ", ids.size(), " tokens; the model takes 1 ..", model.config().context);
  return ids;
}

int one_token(const nn::Model& model, const std::string& text, const char* what) {
  if (text.empty()) return -1;
  const auto ids = model.encode(text);
  if (ids.size() != 1) detail::fail("compare", what, " '", text, "' is ", ids.size(), " tokens; give one token");
  return ids[0];
}

int run_inspect(const InspectArgs& a, bool comparing) {
  if (a.threads > 0) set_num_threads(a.threads);
  PathCheck(comparing ? "compare" : "inspect").model("--model", a.ckpt).output_folder("--out", a.out).check();
  const nn::Model model = nn::Model::load(a.ckpt, {.allow_nonfinite = a.allow_nonfinite});
  const nn::ModelConfig& cfg = model.config();
  const std::vector<std::int32_t> ids = encode_prompt(model, a.prompt, comparing ? "--clean" : "--prompt");
  lab::InspectOptions o;
  o.title = a.prompt;
  o.selection.layers = parse_int_list(a.layers, "--layers");
  o.selection.full_heads = parse_int_list(a.heads, "--heads");
  o.selection.full_matrices = !a.heads.empty() || !a.layers.empty();  // by default every head's thumbnail instead
  for (int r : parse_int_list(a.rows, "--rows")) o.selection.rows.push_back(r);
  o.selection.thumbnail = a.thumbnail;
  const auto n = static_cast<std::int64_t>(ids.size());
  // Full N x N matrices only where asked, and never more than 256 MiB of them.
  const double full_bytes = 8.0 * static_cast<double>(n * n) *
                            static_cast<double>(o.selection.full_heads.empty() ? cfg.heads : static_cast<std::int64_t>(o.selection.full_heads.size())) *
                            static_cast<double>(o.selection.layers.empty() ? cfg.layers : static_cast<std::int64_t>(o.selection.layers.size()));
  if (o.selection.full_matrices && full_bytes > 256.0 * (1 << 20))
    detail::fail("inspect", "full matrices for ", n, " tokens would take ", full_bytes / (1 << 20), " MiB; narrow --layers/--heads");
  o.emf = a.emf;
  o.fold_ln = a.fold_ln;
  o.lens = a.lens;
  o.attribution = a.dla;
  o.detectors = a.detectors;
  if (!a.ablate.empty()) {
    o.ablation.kind = lab::parse_ablation(a.ablation);
    o.ablation.heads = lab::parse_heads(a.ablate, cfg);
    for (const std::string& r : a.reference) o.ablation.reference.push_back(encode_prompt(model, r, "--reference"));
  }
  if (comparing) {
    o.corrupt = encode_prompt(model, a.corrupt, "--corrupt");
    o.compare.position = a.position;
    o.compare.answer = one_token(model, a.answer, "--answer");
    o.compare.wrong = one_token(model, a.wrong, "--wrong");
  }
  const lab::Inspection ins = lab::inspect(model, ids, o);
  const std::string path = observe::write_report(ins.rec, a.out, ins.report);
  const observe::Predictions& p = *ins.report.predictions;
  std::printf("wrote %s (%lld tokens, %lld layers, %lld heads)\n", printable(path).c_str(), static_cast<long long>(n),
              static_cast<long long>(cfg.layers), static_cast<long long>(cfg.heads));
  std::printf("next-token accuracy on the prompt %.3f, mean loss %.3f over %lld positions", p.accuracy, p.mean_loss,
              static_cast<long long>(n - 1));
  if (ins.report.baseline_predictions)
    std::printf(" (%s; without it: accuracy %.3f, loss %.3f)", ins.report.intervention.c_str(), ins.report.baseline_predictions->accuracy,
                ins.report.baseline_predictions->mean_loss);
  std::printf("\n");
  if (ins.report.comparison) {
    const observe::Comparison& c = *ins.report.comparison;
    std::printf("%s\nmetric clean %.3f, corrupted %.3f\n", c.note.c_str(), c.metric_clean, c.metric_corrupt);
    const observe::PatchGrid& g = c.grids.front();  // head outputs, denoising
    int best = 0;
    for (std::size_t i = 0; i < g.recovered.size(); ++i)
      if (g.recovered[i] > g.recovered[static_cast<std::size_t>(best)]) best = static_cast<int>(i);
    if (!g.recovered.empty())
      std::printf("patching one head's output (%s): L%lldH%lld recovers most, %.3f of the metric\n", g.direction.c_str(),
                  static_cast<long long>(best / g.cols), static_cast<long long>(best % g.cols), g.recovered[static_cast<std::size_t>(best)]);
  }
  return 0;
}

void add_common(CLI::App& sub, InspectArgs& a) {
  sub.add_option("--model", a.ckpt, "Hugging Face folder (config.json + safetensors) or attend checkpoint")->required();
  sub.add_option("--layers", a.layers, "layers whose heads are recorded as full N x N matrices, e.g. 0,2 or 0-3");
  sub.add_option("--heads", a.heads, "heads recorded as full N x N matrices (in --layers; default: none, thumbnails of every head)");
  sub.add_option("--rows", a.rows, "query rows whose exact attention rows are kept for every head (and whose rollout is shown)");
  sub.add_option("--thumbnail", a.thumbnail, "side of every head's pooled thumbnail (0: none)")->check(CLI::Range(0, 4096));
  sub.add_option("--out", a.out, "output folder (replaced as a whole; must be new, empty or an earlier report)");
  sub.add_option("--threads", a.threads, "worker threads of attend's kernels (0: all; OpenBLAS follows OPENBLAS_NUM_THREADS)")->check(CLI::NonNegativeNumber);
  sub.add_flag("!--no-emf", a.emf, "skip the EMF operators (factored W_Q·W_Kᵀ, W_V·W_O spectra and composition)");
  sub.add_flag("--fold-ln", a.fold_ln, "EMF with the first norm folded into W_Q, W_K, W_V");
  sub.add_flag("!--no-lens", a.lens, "skip the logit lens");
  sub.add_flag("!--no-dla", a.dla, "skip direct logit attribution");
  sub.add_flag("!--no-detectors", a.detectors, "skip the head detectors (repeated random sequences)");
  sub.add_option("--ablate", a.ablate, "heads to ablate in the reported run, e.g. L0H1,L1H3");
  sub.add_option("--ablation", a.ablation, "zero | mean | resample (mean, resample: over --reference prompts)");
  sub.add_option("--reference", a.reference, "reference prompt(s) for mean / resample ablation (repeatable)");
  sub.add_flag("--allow-nonfinite", a.allow_nonfinite, "load a checkpoint even if it holds NaN or infinite weights");
}

const bool kInspect = register_command("inspect", "Run a checkpoint on a prompt and write the observatory report", [](CLI::App& sub) {
  auto a = std::make_shared<InspectArgs>();
  sub.add_option("--prompt", a->prompt, "text to run")->required();
  add_common(sub, *a);
  return [a] { return run_inspect(*a, false); };
});

const bool kCompare = register_command("compare", "Activation patching between a clean and a corrupted prompt (report + grids)", [](CLI::App& sub) {
  auto a = std::make_shared<InspectArgs>();
  a->out = "attend_compare";
  sub.add_option("--clean", a->prompt, "the clean prompt")->required();
  sub.add_option("--corrupt", a->corrupt, "the corrupted prompt (same number of tokens)")->required();
  sub.add_option("--position", a->position, "where the metric is read (default: the last token)");
  sub.add_option("--answer", a->answer, "the metric's answer token (default: the clean run's top prediction)");
  sub.add_option("--wrong", a->wrong, "the metric's wrong token (default: the corrupted run's top prediction)");
  add_common(sub, *a);
  return [a] { return run_inspect(*a, true); };
});

}  // namespace
}  // namespace attend::cli
