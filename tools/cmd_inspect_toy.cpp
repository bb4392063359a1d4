// attend inspect-toy: the observatory on the hand-built induction model (src/observe/induction_toy.h)
// or, with --synthetic N, on one random causal attention layer of N tokens (to try long inputs).
// Writes the same files as `attend inspect`: report.html, heatmaps, routing graphs, summary.
#include <cstdio>
#include <random>
#include <string>

#include "attend/attention.h"
#include "attend/observe_report.h"
#include "cli_paths.h"
#include "command.h"
#include "core/printable.h"
#include "core/check.h"
#include "inspect_common.h"
#include "observe/induction_toy.h"

namespace attend::cli {
namespace {

observe::Recording synthetic(std::int64_t n, std::uint64_t seed) {
  if (n < 1 || n > 8192) detail::fail("inspect-toy", "--synthetic ", n, " outside [1, 8192]");
  // Two random causal heads with ALiBi: head 0 recorded in full, head 1 only as the kernel's thumbnail.
  const std::int64_t d = 32, h = 2;
  Tensor q(DType::f32, {1, n, h, d}), k(DType::f32, {1, n, h, d}), v(DType::f32, {1, n, h, d}), o(DType::f32, {1, n, h, d});
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (const Tensor* t : {&q, &k, &v})
    for (std::int64_t i = 0; i < t->numel(); ++i) t->data_as<float>()[i] = 1.5f * g(rng);
  observe::Recording rec;
  rec.title = "synthetic: two random causal heads with ALiBi, " + std::to_string(n) + " tokens";
  rec.n = n;
  rec.heads = h;
  for (std::int64_t i = 0; i < n; ++i) {
    rec.token_ids.push_back(static_cast<int>(rng() % 50));
    rec.tokens.push_back("w" + std::to_string(rec.token_ids.back()));
  }
  observe::StatsSink stats(1, h, n, 4);
  observe::RowSink rows(h, n, n, {0}, {});
  observe::ThumbnailSink thumbs(h, n, n, 256);
  observe::TeeSink tee(&stats, &rows, nullptr, &thumbs);
  const float slope[2] = {0.05f, 0.01f};
  AttentionOptions opts;
  opts.causal = true;
  opts.alibi_slopes = slope;
  opts.capture = &tee;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  observe::LayerRecord lr;
  lr.selected = true;
  auto all = stats.head_rows(0, 0);
  lr.stats.assign(all.begin(), all.begin() + h * n);
  lr.full_heads = {0};
  lr.weights.emplace_back(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows.weights(0, i).begin(), rows.weights(0, i).end(), lr.weights[0].begin() + i * n);
  lr.scores.emplace_back();  // not kept: the report reads weights
  lr.thumb_rows = thumbs.out_rows();
  lr.thumb_cols = thumbs.out_cols();
  lr.thumb_mean = thumbs.mean();
  lr.thumb_max = thumbs.max();
  rec.layers.push_back(std::move(lr));
  return rec;
}

int run_toy(const std::string& prompt, const std::string& layers, const std::string& heads, const std::string& out,
            std::int64_t synth) {
  PathCheck("inspect-toy").output_folder("--out", out).check();
  if (synth < 0) detail::fail("inspect-toy", "--synthetic must be a positive count, got ", synth);
  observe::Recording rec;
  observe::ReportOptions opts;
  if (synth > 0) {
    rec = synthetic(synth, 1);
  } else {
    const observe::toy::InductionModel model(64, 128, 7);
    rec.title = prompt;
    observe::toy::tokenize_chars(prompt, model.vocab(), rec.tokens, rec.token_ids);
    rec.n = static_cast<std::int64_t>(rec.tokens.size());
    if (rec.n < 1 || rec.n > model.positions())
      detail::fail("inspect-toy", "the prompt is ", rec.n, " characters; the toy model takes 1 ..", model.positions());
    observe::Selection sel;
    sel.layers = parse_int_list(layers, "--layers");
    sel.full_heads = parse_int_list(heads, "--heads");
    observe::RecordingSink sink(rec, model.kLayers, model.kHeads, sel);
    (void)model.forward(rec.token_ids, &sink);
    for (int l = 0; l < model.kLayers; ++l)
      for (int h = 0; h < model.kHeads; ++h) opts.operators.push_back(observe::head_operators(model.head_weights(l, h)));
  }
  const std::string path = observe::write_report(rec, out, opts);
  std::printf("wrote %s (%lld tokens)\n", printable(path).c_str(), static_cast<long long>(rec.n));
  return 0;
}

const bool kRegistered = register_command(
    "inspect-toy", "Observatory report for the hand-built induction model (or --synthetic N: random attention)", [](CLI::App& sub) {
      auto prompt = std::make_shared<std::string>("the cat sat on the mat. the cat sat on the mat."),
           layers = std::make_shared<std::string>(), heads = std::make_shared<std::string>(),
           out = std::make_shared<std::string>("attend_report");
      auto synth = std::make_shared<std::int64_t>(0);
      sub.add_option("--prompt", *prompt, "text (one token per character, at most 128)");
      sub.add_option("--layers", *layers, "layers with full matrices and activations (default all)");
      sub.add_option("--heads", *heads, "heads with full matrices (default all)");
      sub.add_option("--out", *out, "output folder (replaced as a whole; must be new, empty or an earlier report)");
      sub.add_option("--synthetic", *synth, "instead: two random causal heads over N tokens (N <= 8192), one in full, one as a thumbnail");
      return [=] { return run_toy(*prompt, *layers, *heads, *out, *synth); };
    });

}  // namespace
}  // namespace attend::cli
