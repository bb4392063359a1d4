#pragma once
// The graph-search task of Saparov et al., "Transformers Struggle to Learn to Search" (ICLR 2025),
// as they generate it: their balanced ("crafted") training distribution, their token encoding and
// their held-out filter. Written from their generator (github.com/asaparov/learning_to_search,
// generator.cpp: generate_graph_with_lookahead, generate_example, generate_training_set,
// lookahead_depth; train.py: generate_eval_data and the curriculum), not copied.
//
// Encoding for a maximum input size S (their max_input_size): nv = (S − 5) / 3 vertex labels
// 1 .. nv (0 is reserved, never used), then P = nv + 1, E = nv + 2, pad = nv + 3, Q = nv + 4; the
// vocabulary is nv + 5. A sequence is left-padded to S tokens:
//   pad ... pad  E u v  E u v ...  Q start goal  P path...
// and the one scored prediction sits at the last position, S − 1: the next vertex of the path.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "attend/graph.h"

namespace attend::graph {

struct SearchEncoding {
  int max_input = 0;  // S: tokens per sequence
  int vertices = 0;   // nv: vertex labels are 1 .. nv
  int path = 0, edge = 0, pad = 0, query = 0;
  int vocab = 0;      // nv + 5
};
// S must be >= 14 (nv >= 3, their smallest graphs).
SearchEncoding search_encoding(std::int64_t max_input);

// The largest lookahead of their held-out tests: (nv − 1) / 2 (two branches of that length fit).
int max_search_lookahead(std::int64_t max_input);

// One example: the graph (n = nv + 1 labels, 0 unused; edges in sequence order), start, goal and
// the path so far; the next vertices that reach the goal (sorted), the training label (one of them
// drawn at random, as theirs) and the example's lookahead (their lookahead_depth at path.back()).
struct SearchExample {
  SearchProblem problem;
  std::vector<int> useful;
  int label = -1;
  int lookahead = 0;
  int next = -1;  // the next vertex of the shortest path the example came from (lookahead measured with it)
};

// Their lookahead_depth(vertex, next_vertex, goal): how many BFS levels below `vertex` are needed
// before the goal is found or every frontier vertex descends from `next` only.
int lookahead_depth(const SearchProblem& p, int vertex, int next);

// Their balanced graph for one lookahead L (generate_graph_with_lookahead + generate_example + the
// acceptance rule of generate_training_set), drawn again with the same L until an example of
// lookahead exactly L fits in S tokens with at most max_edges edges. A chain of L edges from the
// start to the goal; num_paths − 1 more branches of length L or L + 1 leave the start; a random
// prefix chain leads into the start; the remaining vertices (up to 5) get random edges to and from
// the others by preferential attachment; labels are a random injection into 1 .. nv; the edges are
// shuffled. L = 0: the goal is the start's child (their "no choice" examples).
SearchExample balanced_example(std::int64_t max_input, int lookahead, int max_edges, std::mt19937_64& rng);
// Their training distribution: L uniform in 0 .. max_lookahead (resampled only after an example is
// accepted), then balanced_example. max_edges = nv is no cap beyond S.
SearchExample balanced_training_example(std::int64_t max_input, int max_lookahead, int max_edges, std::mt19937_64& rng);
// Their held-out filter (generate_eval_data) over the same graphs: lookahead exactly L (>= 1), one
// useful next vertex, and at least two out-neighbours of the current vertex to choose from.
SearchExample balanced_eval_example(std::int64_t max_input, int lookahead, std::mt19937_64& rng);

// Their training stream (generate_training_set for one batch): the pending lookahead L is drawn
// uniformly from 0 .. max_lookahead; graphs are drawn for L until one is valid; its (shortest path,
// prefix length) pairs are walked in order and each one of lookahead L is an example, after which L
// is drawn again and the walk goes on in the same graph (so one graph can give several examples).
// Inputs for which `reserved` returns true are skipped (their reserved test inputs).
class BalancedStream {
 public:
  BalancedStream(std::int64_t max_input, int max_lookahead, int max_edges, std::uint64_t seed,
                 std::function<bool(const SearchExample&)> reserved = {});
  SearchExample next();
  void fix_lookahead(int lookahead) { lookahead_ = lookahead; }  // the pending L (for one example)

 private:
  void new_graph();
  SearchEncoding enc_;
  int max_lookahead_, max_edges_, lookahead_ = 0;
  std::mt19937_64 rng_;
  std::function<bool(const SearchExample&)> reserved_;
  SearchProblem graph_;                    // the current graph (path empty)
  std::vector<std::vector<int>> paths_;    // its shortest start → goal paths
  std::size_t path_at_ = 0, j_ = 1;        // the walk: next path, next prefix length
};

struct SearchSequence {
  std::vector<std::int32_t> tokens;  // [S]
  std::int64_t answer_at = 0;        // S − 1 (left padding puts the last path vertex there)
  int answer = -1;                   // the example's label
};
SearchSequence search_sequence(const SearchExample& e, std::int64_t max_input);
std::string search_token_text(std::int32_t token, std::int64_t max_input);  // "7", "E", "Q", "P", "."

// The held-out evaluation set of a task with maximum input S: `count` examples per lookahead
// 1 .. max_search_lookahead(S), from a fixed seed stream. Training skips every sequence in it
// (as their generator skips its reserved test inputs).
constexpr int kSearchHeldOut = 1000;
SearchExample search_held_out(std::int64_t max_input, int lookahead, int index);

}  // namespace attend::graph
