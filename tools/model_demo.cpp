// attend demo, model part: train a 2-layer transformer on the repeat task (one fixed period),
// check it on held-out sequences, show it completing a repeated sequence, ask the head detectors
// what its heads do at other periods (an honest verdict: induction or a fixed offset), save it.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "attend/attend.h"
#include "attend/lab.h"
#include "attend/residual_flow.h"
#include "model_cli.h"

namespace attend::cli {

int run_model_demo(int threads) {
  if (threads > 0) set_num_threads(threads);
  nn::ModelConfig c;
  c.vocab = 32;
  c.context = 32;
  c.d_model = 64;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 4;
  c.d_ff = 256;
  std::printf("\nmodel runtime: a 2-layer transformer trained to complete repeats of one fixed period (%lld tokens)\n",
              static_cast<long long>(c.context / 2));  // nn::Task::induction: [r | r], |r| = context / 2
  nn::Model model(c, 1);
  const nn::TaskData data(nn::Task::induction, c.vocab, c.context);
  nn::TrainConfig tc;
  tc.steps = 300;
  tc.batch = 32;
  tc.lr = 3e-3f;
  tc.warmup = 30;
  tc.weight_decay = 0;
  tc.log_every = 50;
  const auto t0 = std::chrono::steady_clock::now();
  nn::Trainer trainer(model, data, tc);
  trainer.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double acc = nn::evaluate_accuracy(model, data, 512, 2026);
  std::printf("  trained %lld steps in %.1f s; held-out next-token accuracy on the repeated half: %.2f%% (chance %.1f%%)\n",
              static_cast<long long>(tc.steps), secs, 100 * acc, 100.0 / static_cast<double>(c.vocab - 1));
  // A fresh sequence: 16 random symbols, then the first 4 again; greedy generation should finish the repeat.
  std::mt19937 rng(7);
  std::vector<std::int32_t> r(16), prompt;
  for (auto& t : r) t = static_cast<std::int32_t>(rng() % static_cast<unsigned>(c.vocab - 1));
  prompt = r;
  prompt.insert(prompt.end(), r.begin(), r.begin() + 4);
  nn::Model::GenerateOptions g;
  g.temperature = 0;
  g.max_new_tokens = 12;
  const auto out = model.generate(prompt, g);
  std::string ps, gs, want;
  for (auto t : prompt) ps += model.decode_token(t);
  for (auto t : out) gs += model.decode_token(t);
  for (std::size_t i = 4; i < 16; ++i) want += model.decode_token(r[i]);
  std::printf("  prompt     %s\n  generated  %s%s\n  expected   %s%s  -> %s\n", ps.c_str(), std::string(ps.size(), ' ').c_str(), gs.c_str(),
              std::string(ps.size(), ' ').c_str(), want.c_str(), gs == want ? "correct" : "MISMATCH");
  // What the heads do at periods the model never saw: an induction head follows the period, a
  // positional head reads a fixed distance back whatever the period (lab::detect_heads).
  const observe::HeadDetectors det = lab::detect_heads(model);
  std::printf("  head detectors on repeats of periods");
  for (int p : det.periods) std::printf(" %d", p);
  std::printf(" (%d sequences each):\n", det.sequences);
  int induction_heads = 0, positional_heads = 0;
  for (const observe::HeadDetector& h : det.heads) {
    std::printf("    L%dH%d  %-22s induction (worst period) %.2f, mass at offset %d (worst period) %.2f\n", h.layer, h.head,
                h.kind.c_str(), h.induction_min, h.offset, h.offset_mass);
    induction_heads += h.kind.starts_with("induction");
    positional_heads += h.positional;
  }
  if (induction_heads > 0)
    std::printf("  verdict: %d head(s) follow the repeat whatever its period (induction)\n", induction_heads);
  else
    std::printf("  verdict: no head follows the repeat at other periods; %d head(s) read a fixed distance back: the model\n"
                "  fits the one period it was trained on (a positional solution), it did not learn an induction head\n",
                positional_heads);
  // The residual stream of the prompt above as a flow of token particles (lab::residual_flow).
  const lab::ResidualFlow flow = lab::residual_flow(model, prompt);
  std::printf("  the prompt's residual stream as a flow (predicted next token '%s'):\n", model.decode_token(flow.predicted).c_str());
  std::printf("    layer  mean |update|  |attention part|  |MLP part|   W2(in, out)  clusters  last token: cos(state, u), attn/MLP along u\n");
  for (const lab::ResidualLayerFlow& l : flow.layers)
    std::printf("    %5d  %13.3f  %16.3f  %10.3f   %11.3f  %8d  %8.3f  %+7.3f %+7.3f\n", l.layer, l.mean_update, l.mean_attention,
                l.mean_mlp, l.w2, l.clusters, l.last_cos, l.last_attention_along, l.last_mlp_along);
  std::printf("    (u: the predicted token's unembedding; clusters of the states on the sphere, cosine >= 0.9; embedded: %d)\n",
              flow.clusters_embedded);
  std::filesystem::create_directories("attend-demo");
  model.save("attend-demo/induction.safetensors");
  nn::write_curve_csv("attend-demo/induction.loss.csv", trainer.curve());
  nn::write_curve_png("attend-demo/induction.loss.png", trainer.curve());
  std::printf("  saved attend-demo/induction.safetensors (and induction.loss.csv/.png)\n");
  return acc >= 0.9 && gs == want ? 0 : 1;
}

}  // namespace attend::cli
