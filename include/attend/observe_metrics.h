#pragma once
// Metrics over captured attention, flow across layers, routing graphs, EMF operators, trajectories.
//
// Shape letters: L layers, H heads, N tokens, E model width, D head size.
// A "matrix" below is an attention-weight matrix A: [N, N] row-major, row i = query i, rows sum to
// 1 over the keys the query may see (0 elsewhere).
#include <cstdint>
#include "attend/span.h"
#include <string>
#include <vector>

#include "attend/observe.h"

namespace attend::observe {

// ---- per-row / per-head statistics ----------------------------------------------------------
// H_i / log(visible_i); 0 for rows that see at most one key (nothing to spread over).
float normalized_entropy(const RowStats& s);
// Mean normalised entropy and mean sink mass over the rows of one head's stats [N].
float head_entropy(Span<const RowStats> rows);
float sink_score(Span<const RowStats> rows);

// Attended-distance histogram: mass Σ_i p_ij with |i − j| in bin b = [edges[b], edges[b+1]),
// averaged over rows. a: [N, N]; edges ascending, the last bin is open to +inf.
std::vector<double> distance_histogram(Span<const float> a, std::int64_t n, Span<const int> edges);
// Decay curve: mean over queries i >= d of A[i, i − d], for d = 0 .. n − 1.
std::vector<double> decay_by_distance(Span<const float> a, std::int64_t n);
// A fixed key's share as context grows (softmax competition: early tokens lose influence as the
// context grows): A[i, key] for i = key .. n − 1.
std::vector<double> token_share(Span<const float> a, std::int64_t n, std::int64_t key);

// ---- head types (on full weights and the token ids) -----------------------------------------
struct HeadTypeScores {
  double previous_token = 0;  // mean_i A[i, i−1]
  double duplicate_token = 0; // mean over i with an earlier copy of its token: mass on those copies
  double induction = 0;       // mean over i with an earlier copy at j: mass on the tokens j + 1
};
HeadTypeScores head_type_scores(Span<const float> a, Span<const int> tokens);

// Jensen–Shannon divergence (nats) between two heads, averaged over query rows; both [N, N].
double js_divergence(Span<const float> a, Span<const float> b, std::int64_t n);
// Classical MDS of a symmetric distance matrix d: [M, M] to 2-D points: [M, 2].
std::vector<double> classical_mds(Span<const double> d, std::int64_t m);

// ---- flow across layers -----------------------------------------------------------------------
// Attention rollout (Abnar & Zuidema 2020): per layer Â_l = rownorm(mean_h A_lh + I), and
// R = Â_{L−1} · … · Â_0. It is a heuristic: a product of averaged weights, not a causal attribution.
// layers: per layer, the head-averaged matrix [N, N]. Returns R: [N, N].
std::vector<double> rollout(const std::vector<std::vector<double>>& layers, std::int64_t n);
// Attention flow: max-flow from input token j (layer 0) to output token i (after the last layer)
// on the layered graph whose edge capacities are the Â_l entries. O(N² · maxflow): short inputs.
std::vector<double> attention_flow(const std::vector<std::vector<double>>& layers, std::int64_t n);
// Head-averaged matrix of one layer: every head when each has exact weights (Recording::exact_weights),
// else the heads recorded in full.
std::vector<double> layer_mean(const Recording& rec, int layer);

// ---- routing graph: attention as weighted directed edges between tokens -----------------------
struct Edge {
  std::int64_t from = 0;  // the key (information source)
  std::int64_t to = 0;    // the query (reader)
  double weight = 0;
};
struct RoutingGraph {
  std::string name;                  // "layer 1 head 0" or "layer 1 mean"
  std::vector<std::string> tokens;   // node labels
  std::vector<Edge> edges;
};
// Keep, per query, its top_k keys (top_k <= 0: all), then drop edges below min_weight; and, when
// mass > 0, per query only the largest keys until their cumulative weight reaches `mass`.
RoutingGraph routing_graph(Span<const float> a, std::int64_t n, const std::vector<std::string>& tokens,
                           int top_k, double min_weight, double mass = 0, std::string name = {});
std::string to_graphml(const RoutingGraph& g);
std::string to_dot(const RoutingGraph& g);
std::string to_json(const RoutingGraph& g);

// ---- EMF operators (the EMF model of "The Flow of Attention", Towards AI) ----------------------
// One head's weights, row-vector convention (x·W): wq, wk: [E, D], wv: [E, Dv], wo: [Dv, E].
struct HeadWeights {
  std::int64_t d_model = 0, head_dim = 0, v_dim = 0;
  std::vector<float> wq, wk, wv, wo;
};
struct HeadOperators {
  std::vector<double> m;              // [E, E] M = W_Q·W_Kᵀ/√D: score(x, y) = x·M·yᵀ
  std::vector<double> f;              // [E, E] F = W_V·W_O: what the head writes for a source x
  std::vector<double> m_singular, f_singular;  // descending
  double m_symmetric_norm = 0, m_antisymmetric_norm = 0;  // ‖(M+Mᵀ)/2‖_F, ‖(M−Mᵀ)/2‖_F
};
HeadOperators head_operators(const HeadWeights& w);
// Singular values (descending) of a [rows, cols] matrix (one-sided Jacobi; small matrices).
std::vector<double> singular_values(Span<const double> a, std::int64_t rows, std::int64_t cols);
// Composition of an earlier head (its F) into a later head (its M), Elhage et al. 2021:
// Q: ‖F₁·M₂‖/(‖F₁‖‖M₂‖), K: ‖M₂·F₁ᵀ‖/(‖M₂‖‖F₁‖), V: ‖F₁·F₂‖/(‖F₁‖‖F₂‖) (Frobenius norms).
struct Composition { double q = 0, k = 0, v = 0; };
Composition composition(const HeadOperators& earlier, const HeadOperators& later);

// ---- EMF operators at real widths: factored through d_head-sized cores ---------------------------
// M = W_Q·W_Kᵀ/√D and F = W_V·W_O have rank <= D. With thin QR factorisations W_Q = Q_q R_q,
// W_K = Q_k R_k, W_V = Q_v R_v, W_Oᵀ = Q_o R_o (Q orthonormal E × D, R D × D):
//   σ(M) = σ(R_q R_kᵀ)/√D, σ(F) = σ(R_v R_oᵀ); ‖sym(M)‖², ‖antisym(M)‖² = (‖M‖² ± tr(M²))/2 with
//   tr(M²) = tr(C (Q_kᵀQ_q) C (Q_kᵀQ_q)), C = R_q R_kᵀ/√D;
// and every composition norm is a norm of d_head-sized factors, e.g. ‖F₁M₂‖ = ‖(R_v1 W_O1)(W_Q2 R_k2ᵀ)‖/√D,
// one [H·D, E] × [E, H·D] product per pair of layers for all head pairs at once. Never E × E.
// One layer's attention weights (x·W convention): w_q [E, H·D], w_k, w_v [E, G·D], w_o [H·D, E]
// (head h reads KV head h / (H / G)).
struct LayerWeights {
  std::int64_t d_model = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::vector<float> w_q, w_k, w_v, w_o;
};
// Folds the norm in front of the attention into its reading weights: W ← P·diag(gain)·W for W_Q, W_K,
// W_V, with P = I − 11ᵀ/E (LayerNorm: its input is centred) or P = I (center = false: RMSNorm).
void fold_norm_into_reads(LayerWeights& w, Span<const float> gain, bool center);
// Spectra and symmetric/antisymmetric norms of one head through its cores (m and f stay empty).
HeadOperators head_operators_factored(const HeadWeights& w);
struct EmfAnalysis {
  std::int64_t layers = 0, heads = 0;
  std::vector<HeadOperators> ops;          // [L·H] layer-major (m and f empty)
  std::vector<Composition> composition;    // [L·H, L·H] as composition_matrix
};
EmfAnalysis emf_factored(const std::vector<LayerWeights>& layers);

// ---- trajectories through the residual stream ------------------------------------------------
// states: [S, N, E] (S stages, e.g. the stream entering each layer and leaving the last one).
// Projects every point onto the top two principal components of all points: [S, N, 2]. Dense
// eigen-decomposition of the covariance up to width 64, above it block subspace iteration on the
// centred data (never E × E): any width. Each component's sign makes its largest-|x| loading positive.
std::vector<double> pca_2d(Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e);
// The same through the dense covariance (the reference; widths up to 1024).
std::vector<double> pca_2d_dense(Span<const float> states, std::int64_t stages, std::int64_t n, std::int64_t e);
// Mean pairwise cosine similarity of the N token states of one stage [N, E] (1 = all aligned).
double mean_pairwise_cosine(Span<const float> x, std::int64_t n, std::int64_t e);

// ---- report panels -------------------------------------------------------------------------
// Head similarity: Jensen–Shannon divergence (nats) between every pair of K heads (each [N, N]),
// averaged over an evenly spaced sample of at most max_rows query rows (all rows when N <= max_rows),
// and a 2-D map of the heads: classical MDS of √JS (a metric). js: [K, K], xy: [K, 2].
struct HeadMap {
  std::int64_t count = 0;
  std::vector<double> js, xy;
};
HeadMap head_similarity_map(const std::vector<Span<const float>>& heads, std::int64_t n, std::int64_t max_rows = 256);
// Composition scores of every earlier-layer head into every later-layer head. ops: [L * H] in
// layer-major order. Returns [L·H, L·H]: entry (later, earlier); zero unless layer(earlier) < layer(later).
std::vector<Composition> composition_matrix(const std::vector<HeadOperators>& ops, std::int64_t heads);
// Rows `rows` of the rollout R (see rollout) without forming R: r_i = e_iᵀ · Â_{L−1} · … · Â_0,
// O(|rows| · L · N²). Returns [|rows|, N].
std::vector<double> rollout_rows(const std::vector<std::vector<double>>& layers, std::int64_t n, Span<const std::int64_t> rows);
// The same rows of the rollout over every head of every layer, from the recorded queries, keys and
// row log-sum-exps (activations and statistics of every layer), at any N and without any N × N
// matrix: v ← (Āᵀv + v)/2 per layer with Āᵀv = (1/H) Σ_h A_hᵀ v, and A_hᵀ v is the dV of
// attend::attention_backward with dO = v (the exact kernel recomputes A_h tile by tile).
// Returns [|rows|, N].
std::vector<double> rollout_rows_exact(const Recording& rec, Span<const std::int64_t> rows);
// Bin edges 0, 1, 2, 4, 8, … (< n) for attended-distance histograms.
std::vector<int> log2_distance_edges(std::int64_t n);

}  // namespace attend::observe
