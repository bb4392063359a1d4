#pragma once
// What the model predicts and where a logit comes from: per-position predictions, the logit lens
// and direct logit attribution, computed from a Recording (activations) and the model's output end.
// Plain numerics over arrays: src/lab fills the model's weights in (the observatory does not
// depend on the model runtime), the report renders the results.
//
// Shape letters: L layers, H heads, N tokens, E model width, D head size, V vocabulary, S lens stages.
#include <cstdint>
#include <memory>
#include "attend/span.h"
#include <string>
#include <vector>

#include "attend/observe.h"

namespace attend::observe {

// The model's output end: logits = norm(x) · w_uᵀ with norm the final LayerNorm
// ((x − mean)·rstd·gain + bias, rstd = 1/√(var + eps)) or RMSNorm (x·rstd·gain, rstd = 1/√(mean x² + eps)).
struct Unembedding {
  std::int64_t d_model = 0, vocab = 0;
  bool rmsnorm = false;
  float eps = 1e-5f;
  Span<const float> gain;  // [E]
  Span<const float> bias;  // [E], empty: none
  Span<const float> w_u;   // [V, E]
  // Keeps alive f32 copies the spans may point into (a loaded model's matrices stay in their
  // stored dtype and layout, so the lab reads them through copies).
  std::shared_ptr<const std::vector<std::vector<float>>> owner;
};

// ---- predictions -------------------------------------------------------------------------------
struct Predictions {
  std::int64_t n = 0, vocab = 0, top_k = 0;
  std::vector<int> top_tokens;   // [N, k] most likely next tokens, best first
  std::vector<float> top_probs;  // [N, k]
  std::vector<int> actual;       // [N] the actual next token (-1 at the last position)
  std::vector<float> p_actual;   // [N] its probability (-1 where there is none)
  std::vector<int> rank_actual;  // [N] how many tokens score higher (-1 where none)
  std::vector<float> loss;       // [N] −ln p_actual (0 where none)
  double mean_loss = 0;          // over the positions with a next token
  double accuracy = 0;           // share of those where the actual token is the top prediction
};
// logits: [N, V]; next: [N] the next token at each position (-1: none, e.g. the last).
Predictions predictions(Span<const float> logits, std::int64_t n, std::int64_t vocab, Span<const int> next, int top_k = 5);

// ---- logit lens ---------------------------------------------------------------------------------
// Every stage of the residual stream (layer l: pre, mid, post; post of l is pre of l + 1, listed
// once) through the final norm (with that stage's own statistics) and the unembedding. No tuned lens.
struct LogitLens {
  std::int64_t stages = 0, n = 0;
  std::vector<std::string> labels;  // [S] "L0 pre", "L0 mid", "L0 post", "L1 mid", …
  std::vector<int> target;          // [N] the token followed at each position
  std::vector<float> prob;          // [S, N] p(target)
  std::vector<int> rank;            // [S, N] tokens scoring higher than the target (0: top)
  std::vector<int> top_token;       // [S, N]
  std::vector<float> top_prob;      // [S, N]
};
// rec: activations of every layer (resid_pre/mid/post); target: [N] token ids (>= 0).
LogitLens logit_lens(const Recording& rec, const Unembedding& u, Span<const int> target);

// ---- direct logit attribution -------------------------------------------------------------------
// The final residual is a sum of components (token + position embedding, each head's W_O·z, each
// layer's b_O, each MLP's output); with the final norm's scale frozen at its value on the actual
// residual (TransformerLens's convention: apply_ln_to_stack), the logit is linear in them:
//   logit_t = Σ_k rstd · (c_k − mean(c_k)) · (gain ⊙ w_u[t]) + bias · w_u[t]
// (no centring for RMSNorm). value[k] is component k's term; the last component, "ln_f bias", is
// bias · w_u[t]. The values sum to the model's logit (up to rounding). With a baseline token the
// attributed quantity is logit_target − logit_baseline.
struct OutputWeights {
  Span<const float> w_o;  // [H·D, E]
  Span<const float> b_o;  // [E], empty: none
  std::shared_ptr<const std::vector<std::vector<float>>> owner;  // as Unembedding::owner
};
struct Attribution {
  std::int64_t n = 0, components = 0;
  std::vector<std::string> labels;  // [K] "embed", "L0H0", …, "L0 attn bias", "L0 mlp", …, "ln_f bias"
  std::vector<int> layer, head;     // [K] (-1 where not applicable)
  std::vector<int> target, baseline;  // [N] (baseline -1: plain logit)
  std::vector<float> value;         // [K, N]
  std::vector<float> logit;         // [N] the model's logit (difference), recomputed from the final residual
  std::vector<float> rstd;          // [N] the frozen final-norm scale
};
// rec: activations of every layer (resid_pre of layer 0, head_out, mlp_out, resid_post of the last);
// layers: [L] output weights; target, baseline: [N] (baseline may be empty or -1 entries).
Attribution direct_logit_attribution(const Recording& rec, const Unembedding& u, const std::vector<OutputWeights>& layers,
                                     Span<const int> target, Span<const int> baseline = {});

// ---- head detectors ---------------------------------------------------------------------------
// Scores of one head measured on repeated random sequences of several periods P and offsets a
// (tokens [noise (a) | r | r | …], r of length P): what fools a single fixed-period probe cannot
// fool all of them. Filled by lab::detect_heads.
// In the repeats a content-based head that looks s tokens past an earlier copy of the current token
// reads offset d = kP − s: it tracks the period. A positional head reads a fixed d whatever P is.
// s = 0 is a duplicate-token head, s = 1 an induction head, s >= 2 a shifted induction head (its
// layer-0 partner then reads s tokens back instead of 1).
struct HeadDetector {
  int layer = 0, head = 0;
  double previous_token = 0;   // mean A[i, i−1]
  double duplicate_token = 0;  // mean mass on earlier copies of the token (i − kP) in the repeats
  double induction = 0;        // mean mass on the token after an earlier copy (i − kP + 1)
  double induction_min = 0;    // the smallest per-period induction score
  int shift = 0;               // the s in 0 .. 3 maximising min over periods of the mass on i − kP + s
  double shift_mass = 0;       // that minimum: mass that tracks the period whatever it is
  int offset = 0;              // the fixed offset d maximising min over periods of mean A[i, i−d]
  double offset_mass = 0;      // that minimum: mass at offset d whatever the period
  bool positional = false;     // offset_mass >= 0.5: the head reads a fixed distance back
  // "induction", "induction (shift s)", "duplicate-token" (shift_mass >= 0.5), else "previous-token"
  // or "positional (offset d)" (positional), else "–".
  std::string kind;
};
struct HeadDetectors {
  std::vector<int> periods;     // the periods probed
  int sequences = 0, length = 0;  // sequences per period, tokens per sequence
  std::vector<HeadDetector> heads;  // [L·H] layer-major
};

// ---- comparison of two runs (activation patching) ---------------------------------------------
// Filled by lab::compare: a clean and a corrupted prompt of the same length, a metric (the logit
// difference answer − wrong at one position) and how much of it patching recovers.
struct PatchGrid {
  std::string name;        // e.g. "head outputs (all positions)"
  std::string direction;   // "clean → corrupted" (denoising) or "corrupted → clean" (noising)
  std::int64_t rows = 0, cols = 0;
  std::vector<std::string> row_labels, col_labels;
  std::vector<float> recovered;  // [rows, cols] (metric_patched − metric_corrupt) / (metric_clean − metric_corrupt)
};
struct Comparison {
  std::string clean_prompt, corrupt_prompt;
  std::vector<std::string> clean_tokens, corrupt_tokens;
  std::int64_t position = 0;          // where the metric is read
  int answer = 0, wrong = 0;          // token ids
  std::string answer_text, wrong_text;
  double metric_clean = 0, metric_corrupt = 0;  // logit(answer) − logit(wrong)
  Predictions clean, corrupt;
  std::vector<PatchGrid> grids;
  std::string note;                   // e.g. what was ablated
};

}  // namespace attend::observe
