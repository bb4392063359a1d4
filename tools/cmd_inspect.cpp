// attend inspect: run a checkpoint on a prompt with the observatory attached and write the HTML
// report, PNG heatmaps, routing graphs (GraphML/DOT/JSON) and a JSON summary into --out.
#include <cstdio>
#include <string>

#include "attend/model.h"
#include "attend/observe_report.h"
#include "cli_paths.h"
#include "command.h"
#include "core/printable.h"
#include "core/check.h"
#include "inspect_common.h"

namespace attend::cli {
namespace {

int run_inspect(const std::string& ckpt, const std::string& prompt, const std::string& layers, const std::string& heads,
                const std::string& out, bool emf, bool allow_nonfinite) {
  PathCheck("inspect").input("--model", ckpt).output_folder("--out", out).check();
  const nn::Model model = nn::Model::load(ckpt, {.allow_nonfinite = allow_nonfinite});
  const nn::ModelConfig& cfg = model.config();
  observe::Recording rec;
  rec.title = prompt;
  for (std::int32_t t : model.encode(prompt)) {
    rec.token_ids.push_back(t);
    rec.tokens.push_back(model.decode_token(t));
  }
  rec.n = static_cast<std::int64_t>(rec.token_ids.size());
  if (rec.n < 1 || rec.n > cfg.context)
    detail::fail("inspect", "the prompt is ", rec.n, " tokens; the model takes 1 ..", cfg.context);
  observe::Selection sel;
  sel.layers = parse_int_list(layers, "--layers");
  sel.full_heads = parse_int_list(heads, "--heads");
  // Full N x N matrices only where asked, and never more than 256 MiB of them.
  const double full_bytes = 8.0 * static_cast<double>(rec.n * rec.n) *
                            static_cast<double>(sel.full_heads.empty() ? cfg.heads : static_cast<std::int64_t>(sel.full_heads.size())) *
                            static_cast<double>(sel.layers.empty() ? cfg.layers : static_cast<std::int64_t>(sel.layers.size()));
  if (full_bytes > 256.0 * (1 << 20))
    detail::fail("inspect", "full matrices for ", rec.n, " tokens would take ", full_bytes / (1 << 20), " MiB; narrow --layers/--heads");
  observe::RecordingSink sink(rec, static_cast<int>(cfg.layers), cfg.heads, sel);
  std::vector<std::int32_t> ids(rec.token_ids.begin(), rec.token_ids.end());
  (void)model.forward(ids, &sink);
  observe::ReportOptions opts;
  if (emf)
    for (int l = 0; l < cfg.layers; ++l)
      for (auto& op : layer_operators(model.attention_weights(l))) opts.operators.push_back(std::move(op));
  const std::string path = observe::write_report(rec, out, opts);
  std::printf("wrote %s (%lld tokens, %lld layers, %lld heads)\n", printable(path).c_str(), static_cast<long long>(rec.n),
              static_cast<long long>(cfg.layers), static_cast<long long>(cfg.heads));
  return 0;
}

const bool kRegistered = register_command("inspect", "Run a checkpoint on a prompt and write the observatory report", [](CLI::App& sub) {
  auto ckpt = std::make_shared<std::string>(), prompt = std::make_shared<std::string>(), layers = std::make_shared<std::string>(),
       heads = std::make_shared<std::string>(), out = std::make_shared<std::string>("attend_report");
  auto emf = std::make_shared<bool>(true), allow_nonfinite = std::make_shared<bool>(false);
  sub.add_option("--model", *ckpt, "Hugging Face folder (config.json + safetensors) or attend checkpoint")->required();
  sub.add_option("--prompt", *prompt, "text to run")->required();
  sub.add_option("--layers", *layers, "layers with full matrices and activations, e.g. 0,2 or 0-3 (default all)");
  sub.add_option("--heads", *heads, "heads with full matrices (default all)");
  sub.add_option("--out", *out, "output folder (replaced as a whole; must be new, empty or an earlier report)");
  sub.add_flag("!--no-emf", *emf, "skip the EMF operators (W_Q·W_Kᵀ, W_V·W_O spectra)");
  sub.add_flag("--allow-nonfinite", *allow_nonfinite, "load a checkpoint even if it holds NaN or infinite weights");
  return [=] { return run_inspect(*ckpt, *prompt, *layers, *heads, *out, *emf, *allow_nonfinite); };
});

}  // namespace
}  // namespace attend::cli
