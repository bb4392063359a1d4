// Leftmost-longest matching of added tokens over a byte trie (see added_tokens.h).
#include "text/added_tokens.h"

#include "text/utf8.h"

namespace attend::text::detail {

void AddedTokenMatcher::add(const AddedToken& t) {
  if (t.content.empty()) return;
  if (token_at_.empty()) token_at_.push_back(-1);  // the root
  std::int32_t node = 0;
  for (char ch : t.content) {
    const auto b = static_cast<unsigned char>(ch);
    const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | b;
    auto it = edges_.find(key);
    if (it == edges_.end()) {
      it = edges_.emplace(key, static_cast<std::int32_t>(token_at_.size())).first;
      token_at_.push_back(-1);
    }
    node = it->second;
  }
  first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  const auto index = static_cast<std::int32_t>(tokens_.size());
  if (token_at_[static_cast<std::size_t>(node)] >= 0) {
    tokens_[static_cast<std::size_t>(token_at_[static_cast<std::size_t>(node)])] = t;  // the same content again: the last wins
    return;
  }
  token_at_[static_cast<std::size_t>(node)] = index;
  tokens_.push_back(t);
}

std::int32_t AddedTokenMatcher::longest_at(std::string_view text, std::size_t i, bool parse_special, std::size_t& len) const {
  std::int32_t best = -1;
  std::int32_t node = 0;
  for (std::size_t j = i; j < text.size(); ++j) {
    const auto it = edges_.find((static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]));
    if (it == edges_.end()) break;
    node = it->second;
    const std::int32_t t = token_at_[static_cast<std::size_t>(node)];
    if (t >= 0 && (parse_special || !tokens_[static_cast<std::size_t>(t)].special)) {
      best = t;
      len = j + 1 - i;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special, std::vector<Segment>& out) const {
  std::size_t done = 0;  // text before `done` is in `out`
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 0;
    const std::int32_t t = first_byte_[static_cast<unsigned char>(text[i])] ? longest_at(text, i, parse_special, len) : -1;
    if (t < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[static_cast<std::size_t>(t)];
    std::size_t b = i, e = i + len;
    if (tok.lstrip)
      while (b > done) {
        const std::size_t p = prev_char_start(text, b);
        std::size_t q = p;
        if (!is_white_space(next_char(text, q))) break;
        b = p;
      }
    if (tok.rstrip)
      while (e < text.size()) {
        std::size_t q = e;
        if (!is_white_space(next_char(text, q))) break;
        e = q;
      }
    if (b > done) out.push_back({text.substr(done, b - done), -1});
    out.push_back({text.substr(b, e - b), tok.id});
    done = i = e;
  }
  if (done < text.size()) out.push_back({text.substr(done), -1});
}

}  // namespace attend::text::detail
