#pragma once
// The trained search model in the lab (model + observatory + graphs): accuracy by lookahead and a
// probe that reads its attention (captured through the observatory) for path-merging. The task's
// sequences are attend/search_task.h.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/graph.h"
#include "attend/search_task.h"
#include "attend/model.h"
#include "attend/observe.h"

namespace attend::graph {

// Argmax accuracy at the answer position on `problems` problems of one lookahead; seeds are drawn
// from a stream disjoint from TaskData's training batches.
double search_accuracy(const nn::Model& model, int lookahead, int problems, std::uint64_t seed);
// The same problems, with what the wrong answers were: shares of argmax answers that are the right
// vertex, any out-neighbour of the start (chance level among them: 1 / kSearchBranches), the goal.
struct SearchEval {
  double accuracy = 0, neighbour = 0, goal = 0;
};
SearchEval search_eval(const nn::Model& model, int lookahead, int problems, std::uint64_t seed);

// The model's attention on one problem, full matrices for every layer and head.
observe::Recording record_search(const nn::Model& model, const SearchProblem& p);

// Path-merging probe. Queries and keys are the vertex tokens of the edge list; a key counts when it
// precedes the query, lies in another edge and names another vertex. For layer l, R_l(x) is the
// constructed model's set at that layer (vertices within 2^l hops of x); "forward" is the share of
// a query's attention over counted keys that lands on vertices in R_l(x), "backward" the same for
// vertices that reach x within 2^l. `uniform` is what equal weights on the counted keys would give.
// Rows with no counted key in the set are skipped (a row with no weight on counted keys scores 0).
// Shares are averaged over rows and problems.
struct SearchProbeLayer {
  int layer = 0;
  std::vector<double> forward, backward;  // [H]
  double forward_uniform = 0, backward_uniform = 0;
  std::int64_t forward_rows = 0, backward_rows = 0;
};
struct SearchProbe {
  std::vector<SearchProbeLayer> layers;  // [L]
  int problems = 0;
};
// recs[i] is the recording of problems[i] (as record_search writes it).
SearchProbe probe_search(const std::vector<SearchProblem>& problems, const std::vector<observe::Recording>& recs);
SearchProbe probe_search_model(const nn::Model& model, int lookahead, int problems, std::uint64_t seed);
// The constructed path-merging pattern placed on the same token sequence (one head per layer: a
// vertex token attends uniformly to the counted keys whose vertex is in R_l), for comparison.
observe::Recording constructed_search_recording(const SearchProblem& p, std::int64_t vocab, int layers);

}  // namespace attend::graph
