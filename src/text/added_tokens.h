#pragma once
// Added tokens matched as whole tokens in the text (Hugging Face added_tokens, GGUF control and
// user-defined tokens): the leftmost match wins, the longest at that position, as HF's
// Aho-Corasick (MatchKind::LeftmostLongest) and llama.cpp's partition do.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attend::text::detail {

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool special = false;  // matched only with parse_special
  bool lstrip = false, rstrip = false;  // the match takes the White_Space before / after it
};

// A stretch of the input: text (id < 0) or one matched token.
struct Segment {
  std::string_view text;
  std::int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  void add(const AddedToken& t);
  bool empty() const { return tokens_.empty(); }
  // Splits valid UTF-8 `text` into text and token segments (empty text segments left out).
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

 private:
  // The longest token (allowed by parse_special) starting at text[i], or -1; `len` its bytes.
  std::int32_t longest_at(std::string_view text, std::size_t i, bool parse_special, std::size_t& len) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::uint64_t, std::int32_t> edges_;  // (node << 8 | byte) -> node; a trie
  std::vector<std::int32_t> token_at_;                      // node -> index in tokens_ or -1
  bool first_byte_[256] = {};                               // quick rejection of most positions
};

}  // namespace attend::text::detail
