// The hand-built induction model (see induction_toy.h), running on attend::attention.
#include "observe/induction_toy.h"

#include <cmath>
#include <random>

#include "attend/attention.h"
#include "core/check.h"

namespace attend::observe::toy {

InductionModel::InductionModel(int vocab, int positions, std::uint64_t seed)
    : vocab_(vocab), positions_(positions), e_(3 * vocab + positions), d_(std::max(vocab, positions)) {
  if (vocab < 2 || positions < 2 || positions > 1024)
    detail::fail("InductionModel", "vocab=", vocab, " positions=", positions, " (need vocab >= 2, 2 <= positions <= 1024)");
  const std::int64_t hd = kHeads * d_, tok = 0, pos = vocab, prev = vocab + positions, outs = 2 * vocab + positions;
  const float c = 12.0f * std::sqrt(static_cast<float>(d_));  // logit gap of 12 after the 1/√D scale
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int l = 0; l < kLayers; ++l) {
    for (auto* w : {&wq_[l], &wk_[l], &wv_[l]}) w->assign(static_cast<std::size_t>(e_ * hd), 0.0f);
    wo_[l].assign(static_cast<std::size_t>(hd * e_), 0.0f);
  }
  auto at = [hd](std::vector<float>& w, std::int64_t row, int head, std::int64_t col, std::int64_t d) -> float& {
    return w[static_cast<std::size_t>(row * hd + head * d + col)];
  };
  auto out_at = [this](std::vector<float>& w, int head, std::int64_t row, std::int64_t col) -> float& {
    return w[static_cast<std::size_t>((head * d_ + row) * e_ + col)];
  };
  // layer 0 head 0: q_i = c·e_{i−1}, k_j = e_j over positions; v = token; writes into `prev`.
  for (int p = 1; p < positions; ++p) at(wq_[0], pos + p, 0, p - 1, d_) = c;
  for (int p = 0; p < positions; ++p) at(wk_[0], pos + p, 0, p, d_) = 1;
  for (int t = 0; t < vocab; ++t) { at(wv_[0], tok + t, 0, t, d_) = 1; out_at(wo_[0], 0, t, prev + t) = 1; }
  // layer 1 head 0: q = c·token, k = previous-token slot; v = token; writes into `outs`.
  for (int t = 0; t < vocab; ++t) {
    at(wq_[1], tok + t, 0, t, d_) = c;
    at(wk_[1], prev + t, 0, t, d_) = 1;
    at(wv_[1], tok + t, 0, t, d_) = 1;
    out_at(wo_[1], 0, t, outs + t) = 1;
  }
  // layer 1 head 1: q = c·token, k = token (duplicates); writes nothing (its output is inspected only).
  for (int t = 0; t < vocab; ++t) { at(wq_[1], tok + t, 1, t, d_) = c; at(wk_[1], tok + t, 1, t, d_) = 1; at(wv_[1], tok + t, 1, t, d_) = 1; }
  // layer 0 head 1: random q, k, v (a control head), small output into `outs`.
  const float rs = 1.0f / std::sqrt(static_cast<float>(e_));
  for (std::int64_t r = 0; r < e_; ++r)
    for (std::int64_t k = 0; k < d_; ++k) {
      at(wq_[0], r, 1, k, d_) = 3 * rs * g(rng);
      at(wk_[0], r, 1, k, d_) = 3 * rs * g(rng);
      at(wv_[0], r, 1, k, d_) = rs * g(rng);
    }
  for (int t = 0; t < vocab; ++t) out_at(wo_[0], 1, t, outs + t) = 0.05f * g(rng);
}

std::vector<float> InductionModel::forward(const std::vector<int>& tokens, ModelTraceSink* trace, int threads) const {
  const auto n = static_cast<std::int64_t>(tokens.size());
  if (n < 1 || n > positions_) detail::fail("InductionModel::forward", n, " tokens; need 1 ..", positions_);
  for (int t : tokens)
    if (t < 0 || t >= vocab_) detail::fail("InductionModel::forward", "token id ", t, " outside [0, ", vocab_, ")");
  const std::int64_t hd = kHeads * d_;
  std::vector<float> x(static_cast<std::size_t>(n * e_), 0.0f);  // x: [N, E]
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i * e_ + tokens[static_cast<std::size_t>(i)])] = 1;
    x[static_cast<std::size_t>(i * e_ + vocab_ + i)] = 1;
  }
  std::vector<float> q(static_cast<std::size_t>(n * hd)), k(q.size()), v(q.size()), o(q.size());
  for (int l = 0; l < kLayers; ++l) {
    // q = x·W_Q, k = x·W_K, v = x·W_V: [N, E]·[E, H·D]
    for (auto [w, dst] : {std::pair{&wq_[l], &q}, std::pair{&wk_[l], &k}, std::pair{&wv_[l], &v}}) {
      std::fill(dst->begin(), dst->end(), 0.0f);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t r = 0; r < e_; ++r) {
          const float xr = x[static_cast<std::size_t>(i * e_ + r)];
          if (xr == 0) continue;
          for (std::int64_t c = 0; c < hd; ++c) (*dst)[static_cast<std::size_t>(i * hd + c)] += xr * (*w)[static_cast<std::size_t>(r * hd + c)];
        }
    }
    AttentionOptions opts;
    opts.causal = true;
    opts.threads = threads;
    opts.capture = trace ? trace->attention_sink(l) : nullptr;
    const auto view = [&](std::vector<float>& b) { return TensorView::contiguous(b.data(), DType::f32, {1, n, kHeads, d_}); };
    attention(view(q), view(k), view(v), view(o), opts);
    std::vector<float> pre = x;
    for (std::int64_t i = 0; i < n; ++i)  // x += Σ_h o_h·W_O,h
      for (std::int64_t c = 0; c < hd; ++c) {
        const float oc = o[static_cast<std::size_t>(i * hd + c)];
        if (oc == 0) continue;
        for (std::int64_t r = 0; r < e_; ++r) x[static_cast<std::size_t>(i * e_ + r)] += oc * wo_[l][static_cast<std::size_t>(c * e_ + r)];
      }
    if (trace) {
      LayerTrace t;
      t.layer = l;
      t.tokens = n; t.d_model = e_; t.heads = kHeads; t.kv_heads = kHeads; t.head_dim = d_;
      t.resid_pre = pre.data(); t.resid_mid = x.data(); t.resid_post = x.data();  // attention-only: no MLP
      t.q = q.data(); t.k = k.data(); t.v = v.data(); t.head_out = o.data();
      trace->on_layer(t);
    }
  }
  return x;
}

HeadWeights InductionModel::head_weights(int layer, int head) const {
  if (layer < 0 || layer >= kLayers || head < 0 || head >= kHeads)
    detail::fail("InductionModel::head_weights", "layer ", layer, " head ", head, " outside [", kLayers, ", ", kHeads, ")");
  HeadWeights w;
  w.d_model = e_; w.head_dim = d_; w.v_dim = d_;
  const std::int64_t hd = kHeads * d_;
  for (std::int64_t r = 0; r < e_; ++r)
    for (std::int64_t c = 0; c < d_; ++c) {
      const auto src = static_cast<std::size_t>(r * hd + head * d_ + c);
      w.wq.push_back(wq_[layer][src]);
      w.wk.push_back(wk_[layer][src]);
      w.wv.push_back(wv_[layer][src]);
    }
  for (std::int64_t c = 0; c < d_; ++c)
    for (std::int64_t r = 0; r < e_; ++r) w.wo.push_back(wo_[layer][static_cast<std::size_t>((head * d_ + c) * e_ + r)]);
  return w;
}

void tokenize_chars(const std::string& text, int vocab, std::vector<std::string>& pieces, std::vector<int>& ids) {
  pieces.clear();
  ids.clear();
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, text.size() - i);
    const std::string piece = text.substr(i, len);
    std::uint32_t h = 2166136261u;  // FNV-1a: a stable id per character
    for (unsigned char b : piece) h = (h ^ b) * 16777619u;
    pieces.push_back(piece);
    ids.push_back(static_cast<int>(h % static_cast<std::uint32_t>(vocab)));
    i += len;
  }
}

}  // namespace attend::observe::toy
