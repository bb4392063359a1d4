// BatchDecoder: S sequences in one set of per-layer KV caches (S sequences each). feed() runs one
// sequence's tokens through Model::Impl::forward on its cache rows; step() runs S rows, one per
// sequence, so the weight products see S activation rows (matvec reads each weight once for up to
// kernels::kMatvecMaxRows of them) and attention runs each row against its own sequence.
#include <cstring>

#include "core/check.h"
#include "nn/model_impl.h"

namespace attend::nn {

using I64 = std::int64_t;

struct BatchDecoder::State {
  const Model::Impl* impl;
  LayerCaches cache;
  Acts acts;
  State(const Model::Impl& m, I64 sequences, DType kv_dtype) : impl(&m), cache(m.config, sequences, kv_dtype) {
    acts.for_backward = false;
  }

  void check_sequence(const char* fn, I64 s) const {
    if (s < 0 || s >= cache.sequences()) detail::fail(fn, "sequence ", s, " is outside [0, ", cache.sequences(), ")");
  }
  Tensor logits(I64 rows) const {
    Tensor out(DType::f32, {rows, impl->config.vocab});
    std::memcpy(out.data(), acts.logits.data(), static_cast<std::size_t>(rows * impl->config.vocab) * sizeof(float));
    return out;
  }
};

namespace {
const Model::Impl& checked(const Model& model, I64 sequences) {
  if (sequences < 1) detail::fail("BatchDecoder", "sequences must be >= 1, got ", sequences);
  return model.impl();
}
}  // namespace

BatchDecoder::BatchDecoder(const Model& model, I64 sequences, DType kv_dtype)
    : state_(std::make_unique<State>(checked(model, sequences), sequences, kv_dtype)) {}
BatchDecoder::~BatchDecoder() = default;
I64 BatchDecoder::sequences() const { return state_->cache.sequences(); }

I64 BatchDecoder::length(I64 s) const {
  state_->check_sequence("BatchDecoder::length", s);
  return state_->cache.length(s);
}

void BatchDecoder::reset(I64 s) {
  state_->check_sequence("BatchDecoder::reset", s);
  for (KVCache& kc : state_->cache.layers) kc.clear(s);
}

// tokens: [n] -> logits [1, V] of the last
Tensor BatchDecoder::feed(I64 s, Span<const std::int32_t> tokens) {
  State& st = *state_;
  st.check_sequence("BatchDecoder::feed", s);
  const I64 n = static_cast<I64>(tokens.size()), cached = st.cache.length(s), context = st.impl->config.context;
  if (n < 1 || cached + n > context)
    detail::fail("BatchDecoder::feed", n, " new tokens after ", cached, " cached in sequence ", s, " exceed the context ", context);
  st.cache.reserve(cached + n);
  st.impl->forward(tokens.data(), 1, n, st.acts, &st.cache, nullptr, nullptr, true, s);
  return st.logits(1);
}

// tokens: [S] -> logits [S, V]
Tensor BatchDecoder::step(Span<const std::int32_t> tokens) {
  State& st = *state_;
  const I64 S = st.cache.sequences(), context = st.impl->config.context;
  if (static_cast<I64>(tokens.size()) != S)
    detail::fail("BatchDecoder::step", "got ", tokens.size(), " tokens for ", S, " sequences (one each)");
  I64 longest = 0;
  for (I64 s = 0; s < S; ++s) longest = std::max(longest, st.cache.length(s));
  if (longest + 1 > context)
    detail::fail("BatchDecoder::step", "a sequence already holds ", longest, " tokens: one more exceeds the context ", context);
  st.cache.reserve(longest + 1);
  if (S == 1) st.impl->forward(tokens.data(), 1, 1, st.acts, &st.cache, nullptr, nullptr, false, 0);
  else st.impl->forward(tokens.data(), S, 1, st.acts, &st.cache, nullptr, nullptr, false);
  return st.logits(S);
}

}  // namespace attend::nn
