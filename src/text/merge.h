#pragma once
// The merge loop shared by every BPE flavour: adjacent symbols are merged best pair first
// (smallest key; the leftmost on ties) until no pair merges. A heap of candidate pairs over a
// linked list of symbols: O(n log n) for a word of n symbols, where rescanning all pairs after each
// merge would be O(n^2).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace attend::text::detail {

// One symbol: a token id (or -1 before the model maps it) and its byte span in the word.
struct Symbol {
  std::int32_t id;
  std::uint32_t start, len;
  std::int32_t prev = -1, next = -1;  // neighbours in the list (-1: none)
  bool alive = true;
};

struct MergeOption {
  double key;           // smaller merges first (a rank, or minus a score)
  std::int32_t merged;  // the id of the merged symbol
};

// pair(left, right) -> std::optional<MergeOption>. `symbols` come in consecutive (prev/next are
// set here) and leave with merged-away symbols marked dead; walk from index 0 by `next`.
template <class PairFn>
void merge_symbols(std::vector<Symbol>& symbols, PairFn&& pair) {
  const auto n = static_cast<std::int32_t>(symbols.size());
  for (std::int32_t i = 0; i < n; ++i) {
    symbols[static_cast<std::size_t>(i)].prev = i - 1;
    symbols[static_cast<std::size_t>(i)].next = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    double key;
    std::int32_t left, right;
    std::uint32_t right_len;  // the right symbol's span when queued: a longer one means it has changed
    std::int32_t merged;
  };
  // std heaps keep the largest first: "larger" here is the worse candidate.
  auto worse = [](const Candidate& a, const Candidate& b) { return a.key != b.key ? a.key > b.key : a.left > b.left; };
  std::vector<Candidate> heap;
  auto consider = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const Symbol& a = symbols[static_cast<std::size_t>(l)];
    const Symbol& b = symbols[static_cast<std::size_t>(r)];
    if (const std::optional<MergeOption> m = pair(a, b)) {
      heap.push_back({m->key, l, r, b.len, m->merged});
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& a = symbols[static_cast<std::size_t>(c.left)];
    Symbol& b = symbols[static_cast<std::size_t>(c.right)];
    // Stale: a or b was merged away, or b grew. (a cannot change while a.next is still b.)
    if (!a.alive || !b.alive || a.next != c.right || b.len != c.right_len) continue;
    a.id = c.merged;
    a.len += b.len;
    a.next = b.next;
    if (b.next >= 0) symbols[static_cast<std::size_t>(b.next)].prev = c.left;
    b.alive = false;
    consider(a.prev, c.left);
    consider(c.left, a.next);
  }
}

}  // namespace attend::text::detail
