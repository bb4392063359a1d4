// The tokenizers' building blocks against independent statements of what they must do: the
// Unicode Standard's U+FFFD example, GPT-2's byte map, Unicode White_Space, Hugging Face's
// documented split behaviours, leftmost-longest added-token matching.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "attend/error.h"
#include "text/added_tokens.h"
#include "text/byte_level.h"
#include "text/pipeline.h"
#include "text/regex.h"
#include "text/utf8.h"

namespace attend::text::detail {
namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(TextUtf8, RepairsMaximalSubpartsAsTheUnicodeStandardExample) {
  // The Unicode Standard, section 3.9 (U+FFFD substitution of maximal subparts), table 3-8:
  // 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d
  const std::string in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  EXPECT_EQ(sanitize_utf8(in), "a" + kFFFD + kFFFD + kFFFD + "b" + kFFFD + "c" + kFFFD + kFFFD + "d");
  // Overlong, surrogate and beyond-U+10FFFF forms: every byte is its own subpart.
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), kFFFD + kFFFD);
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD);
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);
  EXPECT_EQ(sanitize_utf8("x\xF0\x9F\x98"), "x" + kFFFD);  // truncated at the end: one
  const std::string valid = "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE4\xB8\xAD";
  EXPECT_EQ(sanitize_utf8(valid), valid);
  EXPECT_TRUE(is_valid_utf8(valid));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
}

TEST(TextUtf8, DisplayEscapeIsValidUtf8) {
  EXPECT_EQ(escape_for_display("a\nb\t\x01\x7F"), "a\\nb\\t\\x01\\x7f");
  EXPECT_EQ(escape_for_display("\xE2\x82"), "\\xe2\\x82");
  EXPECT_EQ(escape_for_display("\xC3\xA9"), "\xC3\xA9");
  std::mt19937 rng(5);
  for (int i = 0; i < 200; ++i) {
    std::string s;
    for (int k = 0; k < 20; ++k) s.push_back(static_cast<char>(rng() & 0xFF));
    EXPECT_TRUE(is_valid_utf8(escape_for_display(s)));
  }
}

TEST(TextByteLevel, Gpt2ByteMap) {
  const auto& chars = byte_chars();
  std::set<std::string> distinct(chars.begin(), chars.end());
  EXPECT_EQ(distinct.size(), 256u);
  EXPECT_EQ(chars[' '], "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(chars['\n'], "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(chars['A'], "A");
  EXPECT_EQ(chars[0xAD], "\xC5\x83");  // the soft hyphen, the last unprintable byte: U+0143
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string mapped, back;
  append_byte_level(mapped, all);
  ASSERT_TRUE(byte_level_to_bytes(mapped, back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(byte_level_to_bytes("\xE4\xB8\xAD", back));  // not a byte character
}

TEST(TextRegex, WhiteSpaceIsUnicodeWhiteSpace) {
  const Regex ws("\\s+", "test");
  std::vector<std::pair<std::size_t, std::size_t>> m;
  const std::string nel = "a\xC2\x85" "b";           // U+0085 is White_Space
  const std::string mvs = "a\xE1\xA0\x8E" "b";       // U+180E is not (PCRE2's \s has it)
  const std::string ideographic = "a\xE3\x80\x80" "b";  // U+3000 is
  ws.find_all(nel, m);
  EXPECT_EQ(m.size(), 1u);
  m.clear();
  ws.find_all(mvs, m);
  EXPECT_TRUE(m.empty());
  m.clear();
  ws.find_all(ideographic, m);
  EXPECT_EQ(m.size(), 1u);
  // Inside a negated class, and \S.
  m.clear();
  Regex("[^\\s\\p{L}]+", "test").find_all("ab \xE1\xA0\x8E!", m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].first, 3u);  // U+180E and '!' together
  m.clear();
  Regex("\\S+", "test").find_all("x\xC2\x85y", m);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_THROW(rewrite_white_space("[\\S]", "test"), Error);
  EXPECT_EQ(rewrite_white_space("a\\\\s", "test"), "a\\\\s");  // an escaped backslash, then 's'
}

TEST(TextRegex, BadPatternNamesIt) {
  try {
    Regex("(unclosed", "Tokenizer::from_hf_json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos);
  }
}

std::vector<std::string> split_words(const std::string& s, SplitBehavior b, bool invert = false) {
  std::vector<std::pair<std::size_t, std::size_t>> m;
  Pattern{nullptr, "-"}.find_all(s, m);
  std::vector<std::string> out;
  for (const auto& [x, y] : split_ranges(s.size(), m, b, invert)) out.push_back(s.substr(x, y - x));
  return out;
}

TEST(TextSplit, BehavioursAsHuggingFaceDocuments) {
  // tokenizers' SplitDelimiterBehavior docs: "the-final--countdown" split on "-".
  using V = std::vector<std::string>;
  const std::string s = "the-final--countdown";
  EXPECT_EQ(split_words(s, SplitBehavior::removed), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split_words(s, SplitBehavior::isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_words(s, SplitBehavior::merged_with_previous), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_words(s, SplitBehavior::merged_with_next), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_words(s, SplitBehavior::contiguous), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split_words(s, SplitBehavior::removed, true), (V{"-", "-", "-"}));
}

TEST(TextPreTokenize, MetaspaceAndByteLevel) {
  PreTokenizerStep meta;
  meta.kind = PreTokenizerStep::Kind::metaspace;
  meta.replacement = "\xE2\x96\x81";
  meta.prepend = PrependScheme::first;
  std::vector<Piece> p = {{"hello world", true}, {"again", false}};
  pre_tokenize({meta}, p);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].text, "\xE2\x96\x81hello");
  EXPECT_EQ(p[1].text, "\xE2\x96\x81world");
  EXPECT_EQ(p[2].text, "again");  // "first": not at the start of the input, no prefix
  std::vector<Piece> q = {{"Hi  there!", true}};
  pre_tokenize({PreTokenizerStep::byte_level(true, "test")}, q);
  std::vector<std::string> words;
  for (const Piece& x : q) words.push_back(x.text);
  EXPECT_EQ(words, (std::vector<std::string>{"Hi", "\xC4\xA0", "\xC4\xA0there", "!"}));
}

TEST(TextAddedTokens, LeftmostLongestAndSpecialGate) {
  AddedTokenMatcher m;
  m.add({"<s>", 1, true});
  m.add({"<s>x", 2, true});
  m.add({"[U]", 3, false});
  m.add({" <pad>", 4, true, true, true});
  std::vector<Segment> seg;
  m.split("a<s>xb<s>c[U]", true, seg);
  std::vector<std::pair<std::string, int>> got;
  for (const auto& s : seg) got.emplace_back(std::string(s.text), s.id);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a", -1}, {"<s>x", 2}, {"b", -1}, {"<s>", 1}, {"c", -1}, {"[U]", 3}}));
  seg.clear();
  m.split("a<s>x[U]", false, seg);  // specials are text now; [U] still matches
  ASSERT_EQ(seg.size(), 2u);
  EXPECT_EQ(seg[0].text, "a<s>x");
  EXPECT_EQ(seg[1].id, 3);
  seg.clear();
  m.split("x \t <pad>  y", true, seg);  // lstrip / rstrip take the White_Space around
  ASSERT_EQ(seg.size(), 3u);
  EXPECT_EQ(seg[0].text, "x");
  EXPECT_EQ(seg[1].text, " \t <pad>  ");
  EXPECT_EQ(seg[2].text, "y");
}

}  // namespace
}  // namespace attend::text::detail
