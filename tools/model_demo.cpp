// attend demo, model part: the committed induction model (data/induction/, trained by `attend train
// --task induction-random` on some repeat lengths; data/induction/induction.json holds the periods
// and the exact command, bench/RESULTS.md its wall time). Loaded, not retrained (training takes
// minutes on two cores). Measured here: accuracy on the trained and on held-out periods, which heads
// the detectors call induction at the held-out periods, what ablating them does (lab::AblationHooks),
// a greedy completion, the residual flow, and the lab's report of one held-out-period prompt.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "attend/attend.h"
#include "attend/lab.h"
#include "attend/residual_flow.h"
#include "induction_report.h"
#include "model_cli.h"

namespace attend::cli {

namespace {
std::string find_data(const std::string& rel) {
#ifdef ATTEND_SOURCE_DIR
  if (!std::filesystem::exists(rel)) return std::string(ATTEND_SOURCE_DIR) + "/" + rel;  // the checkout this binary was built from
#endif
  return rel;
}
}  // namespace

int run_model_demo(int threads) {
  if (threads > 0) set_num_threads(threads);
  const std::string model_path = find_data("data/induction/induction.safetensors"), info_path = find_data("data/induction/induction.json");
  std::printf("\nmodel runtime and lab: an induction head, proved on repeat lengths the model never trained on\n");
  if (!std::filesystem::exists(model_path) || !std::filesystem::exists(info_path)) {
    std::printf("  data/induction/induction.safetensors or induction.json not found (committed under data/induction/; run from the repository root)\n");
    return 1;
  }
  const nn::Model model = nn::Model::load(model_path);
  const nn::ModelConfig& c = model.config();
  nlohmann::json info;
  std::ifstream(info_path) >> info;
  lab::InductionCheckOptions o;
  o.train_periods = info.at("train_periods").get<std::vector<std::int64_t>>();
  o.held_out_periods = info.at("held_out_periods").get<std::vector<std::int64_t>>();
  const long long gap = info.at("max_gap").get<long long>();
  std::printf("  loaded %s (%lld layers, width %lld, %lld heads, %s positions, vocabulary %lld, context %lld),\n"
              "  not trained here (%s); it was made by\n    %s\n"
              "  Each training sequence: random symbols, then a run r of distinct symbols whose length is one of the trained\n"
              "  periods, repeated to the end with 0..%lld random symbols between copies (no fixed offset predicts the repeats).\n"
              "  The held-out periods are measured on plain repeats (no gaps), which it never saw at those lengths.\n",
              model_path.c_str(), static_cast<long long>(c.layers), static_cast<long long>(c.d_model), static_cast<long long>(c.heads),
              c.position == nn::PositionKind::rope ? "RoPE" : "learned", static_cast<long long>(c.vocab), static_cast<long long>(c.context),
              info.at("note").get<std::string>().c_str(), info.at("command").get<std::string>().c_str(), gap);
  const lab::InductionCheck r = lab::check_induction(model, o);
  print_induction_check(r, o.sequences);

  // A fresh sequence of a held-out period: greedy generation should continue the repeat.
  std::mt19937 rng(7);
  std::vector<std::int32_t> symbols(static_cast<std::size_t>(std::min<std::int64_t>(c.vocab - 1, 26)));  // tokens that print as letters
  for (std::size_t i = 0; i < symbols.size(); ++i) symbols[i] = static_cast<std::int32_t>(i);
  std::shuffle(symbols.begin(), symbols.end(), rng);
  const std::int64_t m = o.held_out_periods.back();
  std::vector<std::int32_t> prompt(symbols.begin(), symbols.begin() + m);
  prompt.insert(prompt.end(), symbols.begin(), symbols.begin() + 2);
  nn::Model::GenerateOptions g;
  g.temperature = 0;
  g.max_new_tokens = std::min<std::int64_t>(m, c.context - static_cast<std::int64_t>(prompt.size()));
  const auto out = model.generate(prompt, g);
  std::string ps, gs, want;
  for (auto t : prompt) ps += model.decode_token(t);
  for (auto t : out) gs += model.decode_token(t);
  for (std::int64_t i = 0; i < g.max_new_tokens; ++i) want += model.decode_token(symbols[static_cast<std::size_t>((2 + i) % m)]);
  std::printf("  greedy completion of a period-%lld repeat (held out):\n    prompt     %s\n    generated  %s%s\n    expected   %s%s  -> %s\n",
              static_cast<long long>(m), ps.c_str(), std::string(ps.size(), ' ').c_str(), gs.c_str(), std::string(ps.size(), ' ').c_str(),
              want.c_str(), gs == want ? "correct" : "MISMATCH");

  // The residual stream of the prompt above as a flow of token particles (lab::residual_flow).
  const lab::ResidualFlow flow = lab::residual_flow(model, prompt);
  std::printf("  the prompt's residual stream as a flow (predicted next token '%s'):\n", model.decode_token(flow.predicted).c_str());
  std::printf("    layer  mean |update|  |attention part|  |MLP part|   W2(in, out)  clusters  last token: cos(state, u), attn/MLP along u\n");
  for (const lab::ResidualLayerFlow& l : flow.layers)
    std::printf("    %5d  %13.3f  %16.3f  %10.3f   %11.3f  %8d  %8.3f  %+7.3f %+7.3f\n", l.layer, l.mean_update, l.mean_attention,
                l.mean_mlp, l.w2, l.clusters, l.last_cos, l.last_attention_along, l.last_mlp_along);
  std::printf("    (u: the predicted token's unembedding; clusters of the states on the sphere, cosine >= 0.9; embedded: %d)\n",
              flow.clusters_embedded);

  // The lab's report of the prompt with its completion: predictions, logit lens, DLA, and the head
  // detectors at the held-out periods (the panel shows the induction head).
  std::vector<std::int32_t> full = prompt;
  full.insert(full.end(), out.begin(), out.end());
  lab::InspectOptions io;
  io.title = "attend demo: the induction model on a held-out period-" + std::to_string(m) + " repeat";
  io.detector.periods.assign(o.held_out_periods.begin(), o.held_out_periods.end());
  io.detector.length = c.context;
  io.detector.sequences = 8;
  std::filesystem::create_directories("attend-demo");
  const lab::Inspection ins = lab::inspect(model, full, io);
  const std::string report = observe::write_report(ins.rec, "attend-demo/induction-report", ins.report);
  model.save("attend-demo/induction.safetensors");
  std::printf("  wrote %s (predictions, logit lens, DLA, head detectors at the held-out periods) and a copy of the\n"
              "  model as attend-demo/induction.safetensors\n", report.c_str());
  const bool proved = induction_proved(r);
  std::printf("  %s\n", proved ? "proved: >= 95 % on held-out periods, and ablating the induction head(s) drops it below 20 % (numbers above)"
                               : "NOT PROVED: the model misses the >= 95 % / < 20 % bar or has no induction head (numbers above)");
  return proved && gs == want ? 0 : 1;
}

}  // namespace attend::cli
