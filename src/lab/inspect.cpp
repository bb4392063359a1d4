// One prompt, every analysis (attend/lab.h, inspect): the run, predictions, logit lens, direct logit
// attribution, head detectors, factored EMF operators, an optional ablation and comparison.
#include <algorithm>
#include <memory>

#include "attend/lab.h"
#include "attend/residual_flow.h"
#include "core/check.h"

namespace attend::lab {

Inspection inspect(const nn::Model& model, Span<const std::int32_t> tokens, const InspectOptions& opts) {
  const nn::ModelConfig& c = model.config();
  const std::int64_t n = static_cast<std::int64_t>(tokens.size()), v = c.vocab;
  Inspection out;
  observe::Selection sel = opts.selection;
  sel.activations = true;
  sel.activations_every_layer = true;  // the lens and the DLA read every layer
  const bool ablate = !opts.ablation.heads.empty() || !opts.ablation.mlps.empty();
  std::unique_ptr<AblationHooks> hooks;
  if (ablate) hooks = std::make_unique<AblationHooks>(model, opts.ablation);
  Run r = run(model, tokens, sel, hooks.get(), opts.title);
  out.rec = std::move(r.rec);
  out.logits = std::move(r.logits);
  observe::ReportOptions& rep = out.report;
  const std::vector<int> next = next_tokens(tokens);
  rep.predictions = observe::predictions(out.logits, n, v, next, opts.top_k);
  if (ablate) {
    observe::Selection none;
    none.full_matrices = false;
    none.activations = false;
    none.thumbnail = 0;
    const Run clean = run(model, tokens, none);
    rep.baseline_predictions = observe::predictions(clean.logits, n, v, next, opts.top_k);
    std::string names;
    for (const HeadRef& h : opts.ablation.heads) names += (names.empty() ? "" : ", ") + head_name(h);
    for (int l : opts.ablation.mlps) {
      names += names.empty() ? "L" : ", L";
      names += std::to_string(l);
      names += " MLP";
    }
    rep.intervention = std::string(ablation_name(opts.ablation.kind)) + "-ablated " + names;
  }
  // The tracked token: the actual next one, and at the last position the run's top prediction.
  std::vector<int> target = next;
  target.back() = rep.predictions->top_tokens[static_cast<std::size_t>((n - 1) * rep.predictions->top_k)];
  const observe::Unembedding u = unembedding(model);
  if (opts.lens) rep.lens = observe::logit_lens(out.rec, u, target);
  if (opts.attribution) rep.attribution = observe::direct_logit_attribution(out.rec, u, output_weights(model), target);
  if (opts.detectors && c.context >= 8 && c.vocab >= 6) rep.detectors = detect_heads(model, opts.detector);
  if (opts.flow) rep.flow = flow_panel(out.rec, u, target.back());
  if (opts.emf) {
    observe::EmfAnalysis emf = observe::emf_factored(emf_weights(model, opts.fold_ln));
    rep.operators = std::move(emf.ops);
    rep.composition = std::move(emf.composition);
    rep.emf_note = std::string("factored through d_head-sized QR cores") + (opts.fold_ln ? ", first norm folded into W_Q, W_K, W_V" : "");
  }
  if (!opts.corrupt.empty()) {
    rep.comparison = compare(model, tokens, opts.corrupt, opts.compare);
    if (ablate) rep.comparison->note += " (both runs without the ablation)";
  }
  // Text of every token id a panel names.
  auto name = [&](int t) {
    if (t >= 0 && t < v && !rep.token_text.count(t)) rep.token_text[t] = model.decode_token(t);
  };
  for (int t : rep.predictions->top_tokens) name(t);
  for (int t : target) name(t);
  if (rep.lens)
    for (int t : rep.lens->top_token) name(t);
  if (rep.comparison) {
    name(rep.comparison->answer);
    name(rep.comparison->wrong);
    for (int t : rep.comparison->clean.top_tokens) name(t);
    for (int t : rep.comparison->corrupt.top_tokens) name(t);
  }
  if (rep.baseline_predictions)
    for (int t : rep.baseline_predictions->top_tokens) name(t);
  return out;
}

}  // namespace attend::lab
