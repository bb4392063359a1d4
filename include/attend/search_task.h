#pragma once
// The graph-search task as token sequences for attend::nn::Model: Saparov et al.'s balanced graphs
// ("Transformers Struggle to Learn to Search", ICLR 2025) in their encoding.
//
// Token layout for a model of vocabulary V (V >= 8): vertex labels 0 .. V−5, then
//   kEdge = V−4, kQuery = V−3, kPath = V−2, pad = V−1.
// A sequence is  E u v  (per edge) ... Q start goal P path..., padded with pad to T tokens. The one
// scored target sits at the last path token: the next vertex on the path to the goal.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/graph.h"

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

}  // namespace attend::graph
