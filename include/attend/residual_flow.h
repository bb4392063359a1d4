#pragma once
// The residual stream as a flow of token particles (for any model the runtime loads): per layer,
// how far each token's state moves and which part of the block moves it (attention or MLP), the
// exact transport cost (W₂) between the token clouds entering and leaving the block, how many
// clusters the tokens form on the sphere, and how the last token's state turns toward the
// unembedding of the token the model predicts.
//
// Shape letters: N tokens, E model width, L layers.
#include <cstdint>
#include <optional>
#include "attend/span.h"
#include <vector>

#include "attend/model.h"
#include "attend/observe.h"
#include "attend/observe_interp.h"
#include "attend/observe_report.h"

namespace attend::lab {

struct ResidualFlowOptions {
  // Two token states share a cluster when the cosine of their normalised states (each centred over
  // its E features and scaled to unit length, LayerNorm without gains) is at least this.
  double cluster_cos = 0.9;
  bool transport = true;  // compute W₂ (exact, O(N³) per layer; refused above graph::kMaxExactTransport)
};

struct ResidualLayerFlow {
  int layer = 0;
  // Per token [N]: |x_post − x_pre| (the block's whole update), |x_mid − x_pre| (attention's part)
  // and |x_post − x_mid| (the MLP's part). The two parts are vectors that sum to the update.
  std::vector<double> update, attention, mlp;
  double mean_update = 0, mean_attention = 0, mean_mlp = 0;
  double w2 = -1;    // W₂(cloud entering, cloud leaving); −1 when not computed
  int clusters = 0;  // of the states leaving the block
  // The last token: cosine between its state leaving the block and the predicted token's
  // unembedding vector u, and the components of attention's and the MLP's updates along u/|u|.
  double last_cos = 0, last_attention_along = 0, last_mlp_along = 0;
};

struct ResidualFlow {
  std::vector<std::int32_t> tokens;   // [N]
  std::int32_t predicted = -1;        // argmax of the last position's logits
  int clusters_embedded = 0;          // clusters of the states entering layer 0
  double embedded_last_cos = 0;       // the last token's embedding against u
  std::vector<ResidualLayerFlow> layers;  // [L]
};

// Runs the model on `tokens` (1 <= N <= context) with a trace and measures the flow.
ResidualFlow residual_flow(const nn::Model& model, Span<const std::int32_t> tokens,
                           const ResidualFlowOptions& options = {});

// The same measures from the residual states themselves: pre, mid, post [L][N·E] (entering the
// block, after the attention update, leaving it) and the unembedding vector u [E] of the
// predicted token. residual_flow() calls this with what the model's trace hands it.
ResidualFlow residual_flow_from_states(const std::vector<std::vector<float>>& pre, const std::vector<std::vector<float>>& mid,
                                       const std::vector<std::vector<float>>& post, Span<const float> unembedding,
                                       std::int64_t n, std::int64_t e, const ResidualFlowOptions& options = {});

// The report's flow panel from a recorded run (its activations: the residual stream entering,
// inside and leaving every block) and the unembedding; `predicted` is the token whose unembedding
// row u is. W₂ is computed for N <= kMaxPanelTransport tokens (O(N³) per layer), else left at -1.
// Empty when the recording lacks a layer's activations.
constexpr std::int64_t kMaxPanelTransport = 1024;
std::optional<observe::FlowPanel> flow_panel(const observe::Recording& rec, const observe::Unembedding& u, int predicted,
                                             double cluster_cos = 0.9);

}  // namespace attend::lab
