#pragma once
// The trained search model in the lab (model + observatory + graphs): accuracy by lookahead on the
// held-out set of attend/search_task.h and a probe that reads its attention (captured through the
// observatory) for path-merging.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/graph.h"
#include "attend/search_task.h"
#include "attend/model.h"
#include "attend/observe.h"

namespace attend::graph {

// Argmax at the answer position on the first `problems` (<= kSearchHeldOut) held-out examples of one
// lookahead (graph::search_held_out; the model's context is the task's maximum input S):
// accuracy, the share of answers that are an out-neighbour of the current vertex, the share that
// are the goal, and chance = the mean of 1 / (out-degree of the current vertex).
struct SearchEval {
  double accuracy = 0, neighbour = 0, goal = 0, chance = 0;
  int problems = 0;
};
SearchEval search_eval(const nn::Model& model, int lookahead, int problems);
double search_accuracy(const nn::Model& model, int lookahead, int problems);

// The model's attention on one example, full matrices for every layer and head.
observe::Recording record_search(const nn::Model& model, const SearchExample& e);

// Path-merging probe. Queries and keys are the vertex tokens of the edge list; a key counts when it
// precedes the query, lies in another edge and names another vertex. For a query naming x and a
// counted key naming y, the hop distance is d(x, y) along the edges (forward) or d(y, x) (backward).
// For layer l: `forward[h][d]` is the share of head h's attention over counted keys that lands on
// keys at forward distance d (d = 1 .. max_distance; index 0 unused), `backward` the same, and the
// `*_uniform` arrays what equal weights on the counted keys would give. A layer's reach is the
// largest d whose share is at least twice its uniform share and at least 0.01 (0: none).
// Shares are averaged over the query rows that have a counted key (`rows`; for a head, the rows
// where it puts weight on a counted key) and over problems.
struct SearchProbeLayer {
  int layer = 0;
  std::vector<std::vector<double>> forward, backward;  // [H][max_distance + 1]
  std::vector<double> forward_uniform, backward_uniform;  // [max_distance + 1]
  std::vector<int> forward_reach, backward_reach;      // [H]
  std::int64_t rows = 0;
};
// Flow reach (composition over layers): a key j feeds query i in layer l when some head puts on it at
// least twice the uniform weight 1/(i + 1 − padding) and at least half of that row's largest weight;
// Src_0(i) = {i}, Src_{l+1}(i) = Src_l(i) ∪ Src_l(j) for the keys j feeding i in layer l. The flow
// reach of an edge-list vertex token naming x after layer l is the largest forward (backward) hop
// distance from (to) x of a vertex named by a token in Src_{l+1}(i); `flow_forward[l]` is its mean
// over tokens and problems. Path-merging doubles it per layer (the constructed pattern: 1, 3, 7, …).
struct SearchProbe {
  std::vector<SearchProbeLayer> layers;  // [L]
  std::vector<double> flow_forward, flow_backward;  // [L]
  int problems = 0, max_distance = 0;
};
// recs[i] is the recording of examples[i] (as record_search writes it; S = recs[i].n tokens).
SearchProbe probe_search(const std::vector<SearchExample>& examples, const std::vector<observe::Recording>& recs);
SearchProbe probe_search_model(const nn::Model& model, int lookahead, int problems);
// Reach of head h in a layer by the rule above.
int probe_reach(const std::vector<double>& share, const std::vector<double>& uniform);

// The constructed path-merging pattern placed on the same token sequence (one head per layer: a
// vertex token attends uniformly to the counted keys whose vertex it reaches within 2^l hops), for
// comparison: its forward reach at layer l is 2^l (as far as the graph allows).
observe::Recording constructed_search_recording(const SearchExample& e, std::int64_t max_input, int layers);

}  // namespace attend::graph
