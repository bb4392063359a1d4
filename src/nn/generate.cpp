// Generation: incremental decoding through per-layer key/value caches (grown on demand), and the sampler
// (greedy, temperature, top-k, top-p, seeded).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "core/check.h"
#include "nn/model_impl.h"

namespace attend::nn {

using I64 = std::int64_t;

struct Decoder::State {
  const Model::Impl* impl;
  LayerCaches cache;  // one attend::KVCache per layer
  Acts acts;
  State(const Model::Impl& m, DType kv_dtype) : impl(&m), cache(m.config, 1, kv_dtype) { acts.for_backward = false; }
};

Decoder::Decoder(const Model& model, DType kv_dtype) : state_(std::make_unique<State>(model.impl(), kv_dtype)) {}
Decoder::~Decoder() = default;
I64 Decoder::length() const { return state_->cache.length(); }
void Decoder::reset() {
  for (KVCache& kc : state_->cache.layers) kc.clear(0);
}
void Decoder::reserve(I64 tokens) {
  const I64 context = state_->impl->config.context;
  if (tokens < 0 || tokens > context) detail::fail("Decoder::reserve", tokens, " tokens is outside [0, the context ", context, "]");
  state_->cache.reserve(tokens);
}

// tokens: [n] -> logits [n, V], or [1, V] of the last token when last_only
Tensor Decoder::run(Span<const std::int32_t> tokens, bool last_only, const char* fn) {
  State& st = *state_;
  const I64 n = static_cast<I64>(tokens.size()), cached = length();
  const ModelConfig& c = st.impl->config;
  if (n < 1 || cached + n > c.context) detail::fail(fn, n, " new tokens after ", cached, " cached exceed the context ", c.context);
  st.cache.reserve(cached + n);  // the KV caches grow with the tokens actually used
  st.impl->forward(tokens.data(), 1, n, st.acts, &st.cache, nullptr, nullptr, last_only);
  const I64 rows = last_only ? 1 : n;
  Tensor out(DType::f32, {rows, c.vocab});
  std::memcpy(out.data(), st.acts.logits.data(), static_cast<std::size_t>(rows * c.vocab) * sizeof(float));
  return out;
}

Tensor Decoder::step(Span<const std::int32_t> tokens) { return run(tokens, false, "Decoder::step"); }
Tensor Decoder::step_last(Span<const std::int32_t> tokens) { return run(tokens, true, "Decoder::step_last"); }

namespace {

// Picks a token from logits [V] under the options; rng advances only when sampling.
std::int32_t sample(const float* logits, I64 V, const Model::GenerateOptions& o, std::mt19937_64& rng) {
  if (o.temperature <= 0) return static_cast<std::int32_t>(std::max_element(logits, logits + V) - logits);
  std::vector<std::int32_t> idx(static_cast<std::size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b]; });
  std::size_t keep = idx.size();
  if (o.top_k > 0) keep = std::min(keep, static_cast<std::size_t>(o.top_k));
  std::vector<double> p(keep);
  const double m = logits[idx[0]];
  double sum = 0;
  for (std::size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((logits[idx[i]] - m) / o.temperature);
  if (o.top_p < 1) {  // the smallest prefix whose mass reaches top_p
    double acc = 0;
    std::size_t k = 0;
    while (k < keep && acc < o.top_p * sum) acc += p[k++];
    keep = std::max<std::size_t>(k, 1);
    p.resize(keep);
  }
  std::discrete_distribution<std::size_t> d(p.begin(), p.end());
  return idx[d(rng)];
}

}  // namespace

std::vector<std::int32_t> Model::generate(Span<const std::int32_t> prompt, const GenerateOptions& o,
                                          const std::function<bool(std::int32_t)>& on_token) const {
  const ModelConfig& c = impl_->config;
  if (prompt.empty()) detail::fail("Model::generate", "empty prompt");
  if (static_cast<I64>(prompt.size()) > c.context)
    detail::fail("Model::generate", "prompt of ", prompt.size(), " tokens exceeds the context ", c.context);
  const char* fn = "Model::generate";
  if (o.max_new_tokens < 0) detail::fail(fn, "max_new_tokens must be >= 0, got ", o.max_new_tokens);
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature)) detail::fail(fn, "temperature must be >= 0 and finite, got ", o.temperature);
  if (o.top_k < 0) detail::fail(fn, "top_k must be >= 0 (0: off), got ", o.top_k);
  if (!(o.top_p > 0 && o.top_p <= 1)) detail::fail(fn, "top_p must be in (0, 1], got ", o.top_p);
  if (o.stop_token < -1 || o.stop_token >= c.vocab)
    detail::fail(fn, "stop_token must be -1 (none) or in [0, ", c.vocab, "), got ", o.stop_token);
  std::mt19937_64 rng(o.seed);
  std::vector<std::int32_t> seq(prompt.begin(), prompt.end()), out;
  Decoder dec(*this);
  Tensor logits = o.use_cache ? dec.step_last(prompt) : forward(seq);
  for (I64 i = 0; i < o.max_new_tokens && static_cast<I64>(seq.size()) < c.context; ++i) {
    const float* last = logits.data_as<float>() + (logits.dim(0) - 1) * c.vocab;
    const std::int32_t t = sample(last, c.vocab, o, rng);
    out.push_back(t);
    seq.push_back(t);
    if (on_token && !on_token(t)) break;
    if (t == o.stop_token) break;
    if (static_cast<I64>(seq.size()) >= c.context || i + 1 >= o.max_new_tokens) break;
    logits = o.use_cache ? dec.step_last(Span<const std::int32_t>(&seq.back(), 1)) : forward(seq);
  }
  return out;
}

}  // namespace attend::nn
