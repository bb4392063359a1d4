// The graph-search task as token sequences in Saparov et al.'s encoding (left-padded, the answer
// at the last position), and the held-out set; the generator is search_balanced.cpp.
#include "attend/search_task.h"
#include "core/check.h"

namespace attend::graph {

using I64 = std::int64_t;

SearchEncoding search_encoding(I64 max_input) {
  if (max_input < 14 || max_input > (1 << 20))
    detail::fail("graph::search_encoding", "max input ", max_input, " must be in [14, 2^20] (14 tokens give 3 vertex labels)");
  SearchEncoding e;
  e.max_input = static_cast<int>(max_input);
  e.vertices = static_cast<int>((max_input - 5) / 3);
  e.path = e.vertices + 1;
  e.edge = e.vertices + 2;
  e.pad = e.vertices + 3;
  e.query = e.vertices + 4;
  e.vocab = e.vertices + 5;
  return e;
}

int max_search_lookahead(I64 max_input) { return (search_encoding(max_input).vertices - 1) / 2; }

// tokens: [S]
SearchSequence search_sequence(const SearchExample& e, I64 max_input) {
  const SearchEncoding enc = search_encoding(max_input);
  const SearchProblem& p = e.problem;
  const I64 len = 3 * static_cast<I64>(p.edges.size()) + 4 + static_cast<I64>(p.path.size());
  const auto label_ok = [&](int v) { return v >= 1 && v <= enc.vertices; };
  bool ok = len <= max_input && !p.path.empty() && label_ok(p.start) && label_ok(p.goal) && (e.label == -1 || label_ok(e.label));  // −1: not labelled yet
  for (auto [u, v] : p.edges) ok = ok && label_ok(u) && label_ok(v);
  for (int v : p.path) ok = ok && label_ok(v);
  if (!ok)
    detail::fail("graph::search_sequence", "a problem of ", p.edges.size(), " edges and a path of ", p.path.size(), " needs ", len,
                 " <= ", max_input, " tokens and labels in 1 .. ", enc.vertices, " (label ", e.label, ")");
  SearchSequence s;
  s.tokens.assign(static_cast<std::size_t>(max_input), enc.pad);
  std::size_t i = static_cast<std::size_t>(max_input - len);
  for (auto [u, v] : p.edges) s.tokens[i++] = enc.edge, s.tokens[i++] = u, s.tokens[i++] = v;
  s.tokens[i++] = enc.query;
  s.tokens[i++] = p.start;
  s.tokens[i++] = p.goal;
  s.tokens[i++] = enc.path;
  for (int v : p.path) s.tokens[i++] = v;
  s.answer_at = max_input - 1;
  s.answer = e.label;
  return s;
}

std::string search_token_text(std::int32_t t, I64 max_input) {
  const SearchEncoding e = search_encoding(max_input);
  if (t == e.edge) return "E";
  if (t == e.query) return "Q";
  if (t == e.path) return "P";
  if (t == e.pad) return ".";
  return std::to_string(t);
}

SearchExample search_held_out(I64 max_input, int lookahead, int index) {
  if (lookahead < 1 || lookahead > max_search_lookahead(max_input) || index < 0 || index >= kSearchHeldOut)
    detail::fail("graph::search_held_out", "lookahead ", lookahead, " must be in [1, ", max_search_lookahead(max_input),
                 "] and index ", index, " in [0, ", kSearchHeldOut, ")");
  std::seed_seq ss{0x5ea4c401u, static_cast<std::uint32_t>(max_input), static_cast<std::uint32_t>(lookahead),
                   static_cast<std::uint32_t>(index)};
  std::mt19937_64 rng(ss);
  return balanced_eval_example(max_input, lookahead, rng);
}

}  // namespace attend::graph
