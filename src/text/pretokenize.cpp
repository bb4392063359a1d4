// Pre-tokenizers: Split, ByteLevel, Metaspace (see pipeline.h), after Hugging Face tokenizers.
#include <algorithm>

#include "text/byte_level.h"
#include "text/pipeline.h"

namespace attend::text::detail {

void Pattern::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  if (regex) {
    regex->find_all(text, out);
    return;
  }
  if (literal.empty()) return;
  for (std::size_t at = text.find(literal); at != std::string_view::npos; at = text.find(literal, at + literal.size()))
    out.emplace_back(at, at + literal.size());
}

std::vector<std::pair<std::size_t, std::size_t>> split_ranges(std::size_t size,
                                                              const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                                                              SplitBehavior behavior, bool invert) {
  // The whole text as consecutive (range, is_match).
  struct Part {
    std::size_t b, e;
    bool match;
  };
  std::vector<Part> parts;
  std::size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (b > prev) parts.push_back({prev, b, invert});
    parts.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < size) parts.push_back({prev, size, invert});

  std::vector<std::pair<std::size_t, std::size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::removed:
      for (const Part& p : parts)
        if (!p.match) out.emplace_back(p.b, p.e);
      break;
    case SplitBehavior::isolated:
      for (const Part& p : parts) out.emplace_back(p.b, p.e);
      break;
    case SplitBehavior::merged_with_previous:
      for (const Part& p : parts) {
        if (p.match && !previous_match && !out.empty()) out.back().second = p.e;
        else out.emplace_back(p.b, p.e);
        previous_match = p.match;
      }
      break;
    case SplitBehavior::merged_with_next:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous_match && !out.empty()) out.back().first = it->b;
        else out.emplace_back(it->b, it->e);
        previous_match = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::contiguous:
      for (const Part& p : parts) {
        if (p.match == previous_match && !out.empty()) out.back().second = p.e;
        else out.emplace_back(p.b, p.e);
        previous_match = p.match;
      }
      break;
  }
  return out;
}

namespace {

void split_piece(const Piece& in, const Pattern& pattern, SplitBehavior behavior, bool invert, std::vector<Piece>& out,
                 std::vector<std::pair<std::size_t, std::size_t>>& matches) {
  matches.clear();
  pattern.find_all(in.text, matches);
  for (const auto& [b, e] : split_ranges(in.text.size(), matches, behavior, invert))
    if (e > b) out.push_back({in.text.substr(b, e - b), in.at_start && b == 0});
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  std::size_t at = 0;
  for (std::size_t f = s.find(from); f != std::string::npos; f = s.find(from, at)) {
    out.append(s, at, f - at);
    out += to;
    at = f + from.size();
  }
  if (at == 0) return;
  out.append(s, at, std::string::npos);
  s = std::move(out);
}

}  // namespace

void pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::vector<Piece>& pieces) {
  std::vector<Piece> next;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const PreTokenizerStep& step : steps) {
    next.clear();
    for (Piece& p : pieces) {
      switch (step.kind) {
        case PreTokenizerStep::Kind::split:
          split_piece(p, step.pattern, step.behavior, step.invert, next, matches);
          break;
        case PreTokenizerStep::Kind::byte_level: {
          if (step.add_prefix_space && (p.text.empty() || p.text[0] != ' ')) p.text.insert(p.text.begin(), ' ');
          const std::size_t first = next.size();
          if (step.pattern.regex) split_piece(p, step.pattern, SplitBehavior::isolated, false, next, matches);
          else next.push_back(std::move(p));
          for (std::size_t i = first; i < next.size(); ++i) {
            std::string mapped;
            append_byte_level(mapped, next[i].text);
            next[i].text = std::move(mapped);
          }
          break;
        }
        case PreTokenizerStep::Kind::metaspace: {
          replace_all(p.text, " ", step.replacement);
          const bool starts = p.text.compare(0, step.replacement.size(), step.replacement) == 0;
          if (!starts && (step.prepend == PrependScheme::always || (step.prepend == PrependScheme::first && p.at_start)))
            p.text.insert(0, step.replacement);
          if (step.split) split_piece(p, Pattern{nullptr, step.replacement}, SplitBehavior::merged_with_next, false, next, matches);
          else next.push_back(std::move(p));
          break;
        }
      }
    }
    next.erase(std::remove_if(next.begin(), next.end(), [](const Piece& q) { return q.text.empty(); }), next.end());
    pieces.swap(next);
  }
}

}  // namespace attend::text::detail
