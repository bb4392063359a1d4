#pragma once
// A two-layer, attention-only transformer with a hand-built induction circuit, run through the
// fused kernel (attend::attention) and traced like a real model. It exists so the observatory can
// be developed, tested and demonstrated before (and independently of) nn::Model:
//   layer 0 head 0: previous-token head (position i reads position i − 1, copies its token into
//                   the "previous token" slot of the residual stream);
//   layer 1 head 0: induction head (query: current token; key: previous-token slot, so token i
//                   attends to the position right after an earlier copy of itself);
//   layer 1 head 1: duplicate-token head (query and key: current token);
//   layer 0 head 1: random weights (a control).
// Residual layout (E = 3V + P): [token one-hot V | position one-hot P | previous token V | output V].
#include <cstdint>
#include <string>
#include <vector>

#include "attend/observe_metrics.h"
#include "attend/trace.h"

namespace attend::observe::toy {

class InductionModel {
 public:
  static constexpr int kLayers = 2, kHeads = 2;
  InductionModel(int vocab, int positions, std::uint64_t seed);
  int vocab() const { return vocab_; }
  int positions() const { return positions_; }
  std::int64_t d_model() const { return e_; }
  std::int64_t head_dim() const { return d_; }
  // tokens: [N] ids in [0, vocab), N <= positions. Returns the final residual stream [N, E].
  std::vector<float> forward(const std::vector<int>& tokens, ModelTraceSink* trace = nullptr, int threads = 0) const;
  HeadWeights head_weights(int layer, int head) const;

 private:
  int vocab_, positions_;
  std::int64_t e_, d_;
  // per layer: wq, wk, wv [E, H·D]; wo [H·D, E] (row-vector convention: q = x·wq)
  std::vector<float> wq_[kLayers], wk_[kLayers], wv_[kLayers], wo_[kLayers];
};

// Splits text into UTF-8 code points (the toy's tokens) and maps each to an id in [0, vocab).
void tokenize_chars(const std::string& text, int vocab, std::vector<std::string>& pieces, std::vector<int>& ids);

}  // namespace attend::observe::toy
