// The model as the observatory reads it: views of its output end and attention weights, a traced
// run, and head names. The only lab file that reads the model's parameter layout (nn/model_impl.h).
#include <cstdio>
#include <memory>
#include <cstring>
#include <sstream>

#include "attend/lab.h"
#include "core/check.h"
#include "nn/model_impl.h"

namespace attend::lab {

using I64 = std::int64_t;

namespace {
using Copies = std::vector<std::vector<float>>;

// A parameter's f32 values in attend's layout: in place for a trainable model and for a loaded
// model's vectors; a loaded model's matrices (stored dtype, nn.Linear layout) through a copy kept
// in `copies`.
Span<const float> view(const nn::Model::Impl& m, I64 off, I64 count, Copies& copies) {
  if (off < 0) return {};
  const nn::ParamSpec& spec = m.specs[m.spec_at(off)];
  if (spec.size != count) detail::fail("lab::view", "parameter '", spec.name, "' holds ", spec.size, " values, expected ", count);
  if (m.trainable() || spec.kind == nn::ParamKind::vector) return {m.p(off), static_cast<std::size_t>(count)};
  copies.push_back(m.materialize(spec));  // moving the outer vector later keeps this buffer in place
  return {copies.back().data(), copies.back().size()};
}
}  // namespace

std::vector<HeadRef> parse_heads(const std::string& text, const nn::ModelConfig& c) {
  std::vector<HeadRef> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    HeadRef h;
    char a = 0, b = 0;
    int used = 0;
    const bool named = std::sscanf(part.c_str(), "%c%d%c%d%n", &a, &h.layer, &b, &h.head, &used) == 4 && (a == 'L' || a == 'l') &&
                       (b == 'H' || b == 'h') && used == static_cast<int>(part.size());
    const bool dotted = !named && std::sscanf(part.c_str(), "%d.%d%n", &h.layer, &h.head, &used) == 2 && used == static_cast<int>(part.size());
    if (!named && !dotted) detail::fail("parse_heads", "bad head '", part, "' (want e.g. L0H1 or 0.1)");
    if (h.layer < 0 || h.layer >= c.layers || h.head < 0 || h.head >= c.heads)
      detail::fail("parse_heads", "head '", part, "' is outside the model's ", c.layers, " layers × ", c.heads, " heads");
    out.push_back(h);
  }
  return out;
}

std::string head_name(HeadRef h) {
  std::string s("L");  // appended: GCC 12 warns on `"L" + std::to_string(l)`
  s += std::to_string(h.layer);
  s += 'H';
  s += std::to_string(h.head);
  return s;
}

observe::Unembedding unembedding(const nn::Model& model) {
  const nn::Model::Impl& m = model.impl();
  const nn::ModelConfig& c = m.config;
  observe::Unembedding u;
  u.d_model = c.d_model;
  u.vocab = c.vocab;
  u.rmsnorm = c.norm == nn::NormKind::rmsnorm;
  u.eps = c.norm_eps;
  auto copies = std::make_shared<Copies>();
  u.gain = view(m, m.lnf_w, c.d_model, *copies);
  u.bias = view(m, m.lnf_b, c.d_model, *copies);
  u.w_u = view(m, m.lm_head >= 0 ? m.lm_head : m.wte, c.vocab * c.d_model, *copies);
  u.owner = std::move(copies);
  return u;
}

std::vector<observe::OutputWeights> output_weights(const nn::Model& model) {
  const nn::Model::Impl& m = model.impl();
  const nn::ModelConfig& c = m.config;
  std::vector<observe::OutputWeights> out;
  for (const nn::LayerParams& lp : m.layer) {
    auto copies = std::make_shared<Copies>();
    copies->reserve(2);
    observe::OutputWeights w;
    w.w_o = view(m, lp.wo, c.heads * m.head_dim() * c.d_model, *copies);
    w.b_o = view(m, lp.bo, c.d_model, *copies);
    w.owner = std::move(copies);
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<observe::LayerWeights> emf_weights(const nn::Model& model, bool fold_ln) {
  const nn::Model::Impl& m = model.impl();
  const nn::ModelConfig& c = m.config;
  std::vector<observe::LayerWeights> out;
  for (int l = 0; l < c.layers; ++l) {
    const nn::AttentionWeights w = model.attention_weights(l);
    observe::LayerWeights lw;
    lw.d_model = w.d_model;
    lw.heads = w.heads;
    lw.kv_heads = w.kv_heads;
    lw.head_dim = w.head_dim;
    lw.w_q = w.w_q;
    lw.w_k = w.w_k;
    lw.w_v = w.w_v;
    lw.w_o = w.w_o;
    if (fold_ln) {
      Copies copies;
      observe::fold_norm_into_reads(lw, view(m, m.layer[static_cast<std::size_t>(l)].ln1_w, c.d_model, copies),
                                    c.norm == nn::NormKind::layernorm);
    }
    out.push_back(std::move(lw));
  }
  return out;
}

std::vector<int> next_tokens(Span<const std::int32_t> tokens) {
  std::vector<int> next(tokens.size(), -1);
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) next[i] = tokens[i + 1];
  return next;
}

Run run(const nn::Model& model, Span<const std::int32_t> tokens, const observe::Selection& sel, ModelHooks* hooks,
        const std::string& title) {
  const nn::ModelConfig& c = model.config();
  if (tokens.empty() || static_cast<I64>(tokens.size()) > c.context)
    detail::fail("lab::run", "got ", tokens.size(), " tokens; the model takes 1 ..", c.context);
  Run r;
  r.rec.title = title;
  for (std::int32_t t : tokens) {
    r.rec.token_ids.push_back(t);
    r.rec.tokens.push_back(model.decode_token(t));
  }
  r.rec.n = static_cast<I64>(tokens.size());
  observe::RecordingSink sink(r.rec, static_cast<int>(c.layers), c.heads, sel);
  const Tensor logits = model.forward(tokens, &sink, hooks);
  r.logits.resize(static_cast<std::size_t>(logits.numel()));
  std::memcpy(r.logits.data(), logits.data(), r.logits.size() * sizeof(float));
  return r;
}

}  // namespace attend::lab
