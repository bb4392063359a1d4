#pragma once
// Semcons and heads: a graph whose links carry one of k types (semantic conventions, "semcons"),
// where every particle must gather, per type, the normalised aggregate of its neighbours of that
// type. The claim under test (from cyber's graph-native transformer derivation): the minimum
// number of heads equals the number of distinct link types. One attention head computes one
// type's softmax-normalised aggregate exactly (the construction below); with fewer heads a head
// must mix types and the per-type normalisation is lost (measured by training, src/lab/semcon_fit).
//
// Shape letters: n particles, k types, d state width, E = (n + 1)(k + 1) + d token width.
#include <cstdint>
#include <string>
#include <vector>

namespace attend::graph {

struct TypedLink {
  int from = 0, to = 0, type = 0;
};
struct TypedGraph {
  int n = 0, types = 0;
  std::vector<TypedLink> links;         // distinct (from, to, type); from != to
  std::vector<std::string> names;       // particle names [n] (CSV input), or empty
  std::vector<std::string> type_names;  // [types] (CSV input), or empty
};

// n particles, k types; each ordered pair (i, j), i != j, gets a link of type t independently
// with probability p for each t.
TypedGraph random_typed_graph(int n, int types, double p, std::uint64_t seed);
// The CSV `attend focus` reads, with a fourth column: neuron,from,to,type (header optional).
// Neurons are ignored here; particles and types are numbered in order of first appearance.
TypedGraph read_typed_links_csv(const std::string& path);
TypedGraph parse_typed_links_csv(const std::string& text, const std::string& name);

// The task's answer: agg [n, k, d], agg[i, t] = mean of x_j over the type-t out-neighbours j of i
// (links i -> j of type t), 0 when i has none. x: [n, d].
std::vector<float> semcon_aggregates(const TypedGraph& g, const std::vector<float>& x, int d);

// The tokens a one-layer transformer reads: n particle tokens and one sink token (index n, state
// 0), each [E] = [one-hot id (n+1) | type-0 adjacency row (n+1) | ... | type-(k−1) row | state d].
// A particle's adjacency rows hold 1 at its out-neighbours of that type and 1/2 at the sink.
std::vector<float> semcon_tokens(const TypedGraph& g, const std::vector<float>& x, int d);

// A one-layer, h-head attention transformer over those tokens, x·W convention with the heads side
// by side (as a model's w_q [E, H·D]): q = X·wq [N, h·dk], k = X·wk, v = X·wv [N, h·dv],
// out = concat_h(softmax(scale·q_h·k_hᵀ)·v_h)·wo [N, out_width].
struct SemconLayer {
  int heads = 0, token_width = 0, dk = 0, dv = 0, out_width = 0;
  float scale = 1;
  std::vector<float> wq, wk, wv;  // [E, h·dk], [E, h·dk], [E, h·dv]
  std::vector<float> wo;          // [h·dv, out_width]
};
// The construction: k heads, head t's query selects its type-t adjacency row scaled by `sharpness`,
// the key its one-hot id, so q·k = sharpness at a type-t neighbour, sharpness/2 at the sink and 0
// elsewhere; the value is the state, and W_O places head t's output in block t. Exact up to the
// leaked weight ~ n·e^(−sharpness/2) (1e-11 at the default).
SemconLayer construct_semcon_layer(int n, int types, int d, float sharpness = 64.0f);
// out [N, out_width] for tokens [N, E] (the sink row included), through attend::attention.
std::vector<float> run_semcon_layer(const SemconLayer& layer, const std::vector<float>& tokens, int tokens_n);

}  // namespace attend::graph
