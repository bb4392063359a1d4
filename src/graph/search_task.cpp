// The graph-search task as token sequences (Saparov et al., ICLR 2025: balanced graphs, their
// encoding E u v ... Q start goal P path): what the trainer's `search` task and the lab's
// evaluation share.
#include <algorithm>
#include <numeric>
#include <random>

#include "attend/search_task.h"
#include "core/check.h"

namespace attend::graph {

using I64 = std::int64_t;

int max_search_lookahead(I64 vocab, I64 seq_len) {
  int L = 0;
  while (1 + 3 * (L + 1) <= vocab - 4 && 9 * (L + 1) + 5 <= seq_len) ++L;
  return L;
}

SearchProblem search_problem(int lookahead, I64 vocab, std::uint64_t seed) {
  if (lookahead < 1 || 1 + 3 * static_cast<I64>(lookahead) > vocab - 4)
    detail::fail("graph::search_problem", "lookahead ", lookahead, " needs up to ", 1 + 3 * lookahead,
                 " vertex labels; vocab ", vocab, " has ", vocab - 4);
  std::mt19937_64 rng(seed);
  SearchProblem p = generate_balanced(lookahead, kSearchBranches, rng());
  std::vector<int> label(static_cast<std::size_t>(vocab - 4));  // a random injection into the labels
  std::iota(label.begin(), label.end(), 0);
  std::shuffle(label.begin(), label.end(), rng);
  auto m = [&](int v) { return label[static_cast<std::size_t>(v)]; };
  for (auto& [u, v] : p.edges) u = m(u), v = m(v);
  p.start = m(p.start), p.goal = m(p.goal);
  for (int& v : p.path) v = m(v);
  p.n = static_cast<int>(vocab - 4);  // unused labels are isolated vertices
  return p;
}

// tokens: [T]
SearchSequence search_sequence(const SearchProblem& p, I64 vocab, I64 seq_len) {
  const I64 len = 3 * static_cast<I64>(p.edges.size()) + 4 + static_cast<I64>(p.path.size());
  if (vocab < 8 || len > seq_len || p.n > vocab - 4 || p.path.empty())
    detail::fail("graph::search_sequence", "problem of ", p.edges.size(), " edges, ", p.n, " vertices, path ", p.path.size(),
                 " needs ", len, " tokens and vocab >= max(8, n + 4); got seq_len ", seq_len, ", vocab ", vocab);
  const auto answers = bfs_answers(p);
  if (answers.empty()) detail::fail("graph::search_sequence", "the goal ", p.goal, " is not reachable from ", p.path.back());
  const auto tok = [&](int t) -> std::int32_t {
    switch (t) {
      case kEdge: return static_cast<std::int32_t>(vocab - 4);
      case kQuery: return static_cast<std::int32_t>(vocab - 3);
      case kPath: return static_cast<std::int32_t>(vocab - 2);
      default: return t;
    }
  };
  SearchSequence s;
  s.tokens.assign(static_cast<std::size_t>(seq_len), static_cast<std::int32_t>(vocab - 1));
  const std::vector<int> enc = encode(p);
  for (std::size_t i = 0; i < enc.size(); ++i) s.tokens[i] = tok(enc[i]);
  s.answer_at = len - 1;
  s.answer = answers.front();
  return s;
}

std::string search_token_text(std::int32_t t, I64 vocab) {
  if (t == vocab - 4) return "E";
  if (t == vocab - 3) return "Q";
  if (t == vocab - 2) return "P";
  if (t == vocab - 1) return ".";
  return std::to_string(t);
}

}  // namespace attend::graph
