#pragma once
// The text stages of a Hugging Face tokenizer before its model: normalizers and pre-tokenizers
// (tokenizer.json "normalizer" / "pre_tokenizer"), each a list of steps applied in order.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/regex.h"

namespace attend::text::detail {

// GPT-2's pre-tokenizer pattern (ByteLevel use_regex).
inline constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// A literal string or a regex to split or replace on.
struct Pattern {
  std::shared_ptr<const Regex> regex;  // null: `literal`
  std::string literal;
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
};

struct NormalizerStep {
  enum class Kind { prepend, replace, nfc, nfd, nfkc, nfkd, lowercase, strip };
  Kind kind{};
  std::string text;  // prepend: what; replace: the replacement
  Pattern pattern;   // replace
  bool left = false, right = false;  // strip

  static NormalizerStep make(Kind kind, std::string text = {}, Pattern pattern = {}) {
    NormalizerStep s;
    s.kind = kind;
    s.text = std::move(text);
    s.pattern = std::move(pattern);
    return s;
  }
};
// text (valid UTF-8) -> normalized text
std::string normalize(const std::vector<NormalizerStep>& steps, std::string text);

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
enum class PrependScheme { always, first, never };

struct PreTokenizerStep {
  enum class Kind { split, byte_level, metaspace };
  Kind kind{};
  Pattern pattern;  // split; byte_level with use_regex (the GPT-2 pattern)
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  bool add_prefix_space = false;  // byte_level
  std::string replacement;        // metaspace ("▁")
  PrependScheme prepend = PrependScheme::always;
  bool split = true;  // metaspace: split before each replacement character

  // Split on a regex, isolating the matches (llama.cpp's pre-tokenizer patterns).
  static PreTokenizerStep split_on(const std::string& regex, const std::string& where) {
    PreTokenizerStep s;
    s.kind = Kind::split;
    s.pattern.regex = std::make_shared<const Regex>(regex, where);
    return s;
  }
  // GPT-2 bytes -> characters, after splitting on the GPT-2 pattern when `use_regex`.
  static PreTokenizerStep byte_level(bool use_regex, const std::string& where) {
    PreTokenizerStep s;
    s.kind = Kind::byte_level;
    if (use_regex) s.pattern.regex = std::make_shared<const Regex>(kGpt2Pattern, where);
    return s;
  }
};

// One pre-token: its text and whether it starts at offset 0 of the input (Metaspace "first").
struct Piece {
  std::string text;
  bool at_start = false;
};
// Applies the steps to every piece; empty pieces are dropped after each step.
void pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::vector<Piece>& pieces);

// The ranges [begin, end) of `text` a split leaves, given the match ranges (HF's
// NormalizedString::split rules for each behaviour).
std::vector<std::pair<std::size_t, std::size_t>> split_ranges(std::size_t size,
                                                              const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                                                              SplitBehavior behavior, bool invert);


}  // namespace attend::text::detail
