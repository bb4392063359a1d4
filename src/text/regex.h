#pragma once
// Pre-tokenizer regexes through PCRE2 (UTF + Unicode properties, JIT when available). Patterns are
// written for Oniguruma / Rust regex (Hugging Face tokenizers, tiktoken); the one difference that
// matters for them, \s, is rewritten to Unicode White_Space (PCRE2 also counts U+180E).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attend::text::detail {

class Regex {
 public:
  // Throws attend::Error("<where>: ...") when the pattern does not compile.
  Regex(std::string_view pattern, const std::string& where);
  // The [begin, end) byte ranges of the successive non-empty matches in `text` (valid UTF-8).
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<void> code_;  // pcre2_code_8, compiled once, shared by every thread (read-only)
};

// The pattern with \s / \S rewritten as White_Space classes (exposed for the tests).
std::string rewrite_white_space(std::string_view pattern, const std::string& where);

}  // namespace attend::text::detail
