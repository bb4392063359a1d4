// Two prompts, one metric, and activation patching between their runs (attend/lab.h, compare).
#include <algorithm>
#include <cmath>

#include "attend/lab.h"
#include "core/check.h"

namespace attend::lab {

using I64 = std::int64_t;

namespace {

std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }
std::string label(const char* prefix, I64 v) {  // appended: GCC 12 warns on `"L" + std::to_string(l)`
  std::string s(prefix);
  s += std::to_string(v);
  return s;
}

int top_token(const std::vector<float>& logits, I64 v, I64 pos, int skip = -1) {
  int best = -1;
  for (I64 t = 0; t < v; ++t)
    if (t != skip && (best < 0 || logits[sz(pos * v + t)] > logits[sz(pos * v + best)])) best = static_cast<int>(t);
  return best;
}

struct Metric {
  I64 pos = 0, vocab = 0;
  int answer = 0, wrong = 0;
  double operator()(const std::vector<float>& logits) const {
    return static_cast<double>(logits[sz(pos * vocab + answer)]) - logits[sz(pos * vocab + wrong)];
  }
};

}  // namespace

observe::Comparison compare(const nn::Model& model, Span<const std::int32_t> clean, Span<const std::int32_t> corrupt,
                            const CompareOptions& opts) {
  const nn::ModelConfig& c = model.config();
  const I64 n = static_cast<I64>(clean.size()), v = c.vocab;
  if (n < 1 || static_cast<I64>(corrupt.size()) != n)
    detail::fail("compare", "the clean prompt has ", clean.size(), " tokens and the corrupted ", corrupt.size(), "; they must match");
  const I64 pos = opts.position < 0 ? n - 1 : opts.position;
  if (pos >= n) detail::fail("compare", "position ", opts.position, " is outside the ", n, " tokens");
  observe::Selection sel;
  sel.full_matrices = false;  // thumbnails (exact up to 256 tokens) give the patterns to patch
  const Run rc = run(model, clean, sel), rx = run(model, corrupt, sel);

  Metric metric{pos, v, opts.answer, opts.wrong};
  if (metric.answer < 0) metric.answer = top_token(rc.logits, v, pos);
  if (metric.wrong < 0) metric.wrong = top_token(rx.logits, v, pos);
  if (metric.wrong == metric.answer) metric.wrong = top_token(rc.logits, v, pos, metric.answer);  // the runner-up
  if (metric.answer >= v || metric.wrong >= v || metric.answer == metric.wrong)
    detail::fail("compare", "answer ", metric.answer, " and wrong ", metric.wrong, " must be two tokens in [0, ", v, ")");

  observe::Comparison cmp;
  for (std::int32_t t : clean) cmp.clean_tokens.push_back(model.decode_token(t));
  for (std::int32_t t : corrupt) cmp.corrupt_tokens.push_back(model.decode_token(t));
  for (const auto& s : cmp.clean_tokens) cmp.clean_prompt += s;
  for (const auto& s : cmp.corrupt_tokens) cmp.corrupt_prompt += s;
  cmp.position = pos;
  cmp.answer = metric.answer;
  cmp.wrong = metric.wrong;
  cmp.answer_text = model.decode_token(metric.answer);
  cmp.wrong_text = model.decode_token(metric.wrong);
  cmp.metric_clean = metric(rc.logits);
  cmp.metric_corrupt = metric(rx.logits);
  cmp.clean = observe::predictions(rc.logits, n, v, next_tokens(clean));
  cmp.corrupt = observe::predictions(rx.logits, n, v, next_tokens(corrupt));
  const double span = cmp.metric_clean - cmp.metric_corrupt;
  cmp.note = "metric: logit(" + cmp.answer_text + ") − logit(" + cmp.wrong_text + ") at position " + std::to_string(pos) +
             "; cells: (metric_patched − metric_corrupt) / (metric_clean − metric_corrupt)";
  if (std::fabs(span) < 1e-6) cmp.note += "; the two runs give the same metric, so the fractions are undefined (NaN)";

  const I64 nl = c.layers, nh = c.heads;
  std::vector<std::string> layer_labels, head_labels, pos_labels;
  for (I64 l = 0; l < nl; ++l) layer_labels.push_back(label("L", l));
  for (I64 h = 0; h < nh; ++h) head_labels.push_back(label("H", h));
  for (I64 i = 0; i < n; ++i) pos_labels.push_back(std::to_string(i) + " " + cmp.clean_tokens[sz(i)]);

  for (const bool noising : {false, true}) {
    if (noising && !opts.noising) break;
    const Run& source = noising ? rx : rc;
    Span<const std::int32_t> target = noising ? clean : corrupt;
    const std::string dir = noising ? "corrupted → clean (noising)" : "clean → corrupted (denoising)";
    auto patched = [&](std::vector<Patch> patches, std::vector<HeadRef> pattern_heads) {
      PatchHooks hooks(source.rec, std::move(patches), std::move(pattern_heads));
      const Tensor logits = model.forward(target, nullptr, &hooks);
      const std::vector<float> l(static_cast<const float*>(logits.data()), static_cast<const float*>(logits.data()) + logits.numel());
      return static_cast<float>(std::fabs(span) < 1e-6 ? NAN : (metric(l) - cmp.metric_corrupt) / span);
    };
    observe::PatchGrid heads{"head outputs z (all positions)", dir, nl, nh, layer_labels, head_labels, {}};
    observe::PatchGrid patterns{"attention patterns (all positions)", dir, nl, nh, layer_labels, head_labels, {}};
    for (I64 l = 0; l < nl; ++l)
      for (I64 h = 0; h < nh; ++h) {
        heads.recovered.push_back(patched({{HookPoint::head_out, static_cast<int>(l), static_cast<int>(h), -1}}, {}));
        patterns.recovered.push_back(patched({}, {{static_cast<int>(l), static_cast<int>(h)}}));
      }
    observe::PatchGrid blocks{"attention and MLP outputs (all positions)", dir, nl, 2, layer_labels, {"attn_out", "mlp_out"}, {}};
    for (I64 l = 0; l < nl; ++l) {
      blocks.recovered.push_back(patched({{HookPoint::attn_out, static_cast<int>(l), -1, -1}}, {}));
      blocks.recovered.push_back(patched({{HookPoint::mlp_out, static_cast<int>(l), -1, -1}}, {}));
    }
    cmp.grids.push_back(std::move(heads));
    cmp.grids.push_back(std::move(patterns));
    cmp.grids.push_back(std::move(blocks));
    if (opts.positions) {
      std::vector<std::string> stage_labels = layer_labels;
      stage_labels.push_back("final");
      observe::PatchGrid resid{"residual stream entering each layer, one position", dir, nl + 1, n, stage_labels, pos_labels, {}};
      for (I64 l = 0; l <= nl; ++l)
        for (I64 i = 0; i < n; ++i)
          resid.recovered.push_back(l < nl ? patched({{HookPoint::resid_pre, static_cast<int>(l), -1, i}}, {})
                                           : patched({{HookPoint::resid_post, static_cast<int>(nl - 1), -1, i}}, {}));
      cmp.grids.push_back(std::move(resid));
    }
  }
  return cmp;
}

}  // namespace attend::lab
