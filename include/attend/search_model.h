#pragma once
// The graph-search task for the model runtime (issue 8, part 1): Saparov et al.'s balanced graphs as
// token sequences for attend::nn::Model, the trained model's accuracy by lookahead, and a probe
// that reads its attention (captured through the observatory) for path-merging.
//
// Token layout for a model of vocabulary V (V >= 8): vertex labels 0 .. V−5, then
//   kEdge = V−4, kQuery = V−3, kPath = V−2, pad = V−1.
// A sequence is  E u v  (per edge) ... Q start goal P path..., padded with pad to T tokens. The one
// scored target sits at the last path token: the next vertex on the path to the goal.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/graph.h"
#include "attend/model.h"
#include "attend/observe.h"

namespace attend::graph {

constexpr int kSearchBranches = 2;  // chains leaving the start; chance = 1 / kSearchBranches

// Largest lookahead whose balanced graph always fits: 1 + 3L vertices <= V − 4 and 9L + 5 <= T.
int max_search_lookahead(std::int64_t vocab, std::int64_t seq_len);

// A balanced problem (generate_balanced(lookahead, kSearchBranches)) whose vertices are relabelled
// to distinct random labels in [0, vocab − 4), so a label says nothing about the graph.
SearchProblem search_problem(int lookahead, std::int64_t vocab, std::uint64_t seed);

struct SearchSequence {
  std::vector<std::int32_t> tokens;  // [T]
  std::int64_t answer_at = 0;        // position of the last path token (the scored one)
  int answer = -1;                   // the next vertex (unique on balanced graphs)
};
SearchSequence search_sequence(const SearchProblem& p, std::int64_t vocab, std::int64_t seq_len);
std::string search_token_text(std::int32_t token, std::int64_t vocab);  // "7", "E", "Q", "P", "."

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
