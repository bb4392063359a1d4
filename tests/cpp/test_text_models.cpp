// The three merge algorithms (rank of a pair, rank of the merged bytes, score of the merged piece)
// against straightforward quadratic encoders written from their descriptions, on vocabularies
// learned here; and the tokenizer.json pieces around them (templates, configs, normalizers,
// Metaspace, decode rules).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "attend/error.h"
#include "attend/tokenizer.h"
#include "text_test_util.h"

namespace attend::test {
namespace {

using nlohmann::json;
using text::EncodeOptions;
using text::Tokenizer;

std::vector<std::string> random_words(std::mt19937& rng, int n, const std::string& alphabet, std::uint32_t max_len) {
  std::vector<std::string> words;
  for (int i = 0; i < n; ++i) {
    std::string w;
    for (std::uint32_t k = 0, len = 1 + draw(rng, max_len); k < len; ++k) w.push_back(alphabet[draw(rng, static_cast<std::uint32_t>(alphabet.size()))]);
    words.push_back(w);
  }
  return words;
}

TEST(TextBpe, PairRankMergesEqualGpt2Algorithm) {
  std::mt19937 rng(11);
  const std::string alphabet = "abcde";
  const auto merges = learn_bpe(random_words(rng, 300, alphabet, 12), 60);
  json vocab = json::object();
  for (char c : alphabet) vocab[std::string(1, c)] = vocab.size();
  std::map<std::pair<std::string, std::string>, int> ranks;
  json merge_list = json::array();
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = vocab.size();
    ranks[{a, b}] = static_cast<int>(ranks.size());
    merge_list.push_back(a + " " + b);
  }
  const json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}, {"added_tokens", json::array()}};
  const Tokenizer tok = hf_from_text(j.dump());
  for (const std::string& w : random_words(rng, 500, alphabet, 40)) {
    std::vector<std::int32_t> want;
    for (const std::string& p : naive_gpt2_bpe(w, ranks)) want.push_back(vocab[p].get<std::int32_t>());
    ASSERT_EQ(tok.encode(w), want) << w;
    EXPECT_EQ(tok.decode(tok.encode(w)), w);
  }
}

TEST(TextBpe, TiktokenRankMergesEqualReference) {
  std::mt19937 rng(12);
  const std::string alphabet = "xyz!";
  const auto merges = learn_bpe(random_words(rng, 300, alphabet, 10), 50);
  std::map<std::string, std::int32_t> ranks;
  std::string file;
  auto add = [&](const std::string& bytes) {
    if (ranks.count(bytes)) return;
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string enc;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
      acc = (acc << 8) | c;
      bits += 8;
      while (bits >= 6) enc.push_back(b64[(acc >> (bits -= 6)) & 63]);
    }
    if (bits) enc.push_back(b64[(acc << (6 - bits)) & 63]);
    while (enc.size() % 4) enc.push_back('=');
    const auto rank = static_cast<std::int32_t>(ranks.size());
    ranks[bytes] = rank;
    file += enc + " " + std::to_string(rank) + "\n";
  };
  for (int b = 0; b < 256; ++b) add(std::string(1, static_cast<char>(b)));
  for (const auto& [a, b] : merges) add(a + b);
  text::TiktokenSpec spec;
  spec.pattern = "[xyz!]+| ";
  spec.special_tokens = {{"<|end|>", static_cast<std::int32_t>(ranks.size())}};
  const Tokenizer tok = Tokenizer::from_tiktoken(write_tmp("ranks.tiktoken", file), spec);
  for (const std::string& w : random_words(rng, 500, alphabet, 30)) {
    EXPECT_EQ(tok.encode(w), naive_tiktoken(w, ranks)) << w;
    EXPECT_EQ(tok.decode(tok.encode(w)), w);
  }
  EXPECT_EQ(tok.encode("x<|end|>y", {false, true})[1], static_cast<std::int32_t>(ranks.size()));
  EXPECT_EQ(tok.encode("<|end|>", {false, false}).size(), 7u);  // as text: one token per byte at most
}

TEST(TextBpe, SentencePieceScoreMergesEqualReference) {
  std::mt19937 rng(13);
  const std::string alphabet = "pqrs";
  const auto merges = learn_bpe(random_words(rng, 300, alphabet, 10), 40);
  text::VocabSpec v;
  v.model = "llama";
  v.add_space_prefix = false;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.token_types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    v.tokens.push_back(name);
    v.token_types.push_back(6);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  std::map<std::string, std::int32_t> ids;
  for (std::size_t i = 0; i < v.tokens.size(); ++i) ids[v.tokens[i]] = static_cast<std::int32_t>(i);
  auto add = [&](const std::string& p, float score) {
    if (ids.count(p)) return;
    ids[p] = static_cast<std::int32_t>(v.tokens.size());
    v.tokens.push_back(p);
    v.scores.push_back(score);
    v.token_types.push_back(1);
  };
  int k = 0;
  for (const auto& [a, b] : merges) add(a + b, -static_cast<float>(k++ / 3));  // groups of three tie
  for (char c : std::string("pqr")) add(std::string(1, c), -1000.0f);  // 's' is missing: byte fallback
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  const Tokenizer tok = Tokenizer::from_vocab(v);
  for (const std::string& w : random_words(rng, 500, alphabet + " ", 40)) {
    std::string spaced = w;
    for (char& c : spaced)
      if (c == ' ') c = '_';  // keep the SentencePiece space symbol out of this test
    std::string text = spaced;
    ASSERT_EQ(tok.encode(text, {false, false}), naive_spm(text, ids, v.scores)) << text;
    EXPECT_EQ(tok.decode(tok.encode(text, {false, false})), text);
  }
}

TEST(TextBpe, SentencePieceUnusedPiecesSplitBack) {
  // "ab" is unused: a merge may form it but the output takes back what formed it.
  text::VocabSpec v;
  v.model = "llama";
  v.add_space_prefix = false;
  v.tokens = {"<unk>", "a", "b", "c", "ab", "abc"};
  v.scores = {0, -10, -10, -10, -1, -2};
  v.token_types = {2, 1, 1, 1, 5, 1};
  v.unk = 0;
  const Tokenizer tok = Tokenizer::from_vocab(v);
  EXPECT_EQ(tok.encode("ab", {false, false}), (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(tok.encode("abc", {false, false}), (std::vector<std::int32_t>{5}));
  EXPECT_EQ(tok.encode("abd", {false, false}), (std::vector<std::int32_t>{1, 2, 0}));  // no byte tokens: <unk>
}

TEST(TextBpe, SentencePieceWordSplitOnlyWhenExact) {
  // Encoding word by word (cut before each "▁") is a speed-up that must not change ids: with a
  // piece spanning a word start ("a▁b") the text is merged whole.
  text::VocabSpec v;
  v.model = "llama";
  v.tokens = {"<unk>", "\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "b", "a\xE2\x96\x81" "b"};
  v.scores = {0, -5, -5, -5, -1, -0.5f};
  v.token_types = {2, 1, 1, 1, 1, 1};
  v.unk = 0;
  EXPECT_EQ(Tokenizer::from_vocab(v).encode("a b", {false, false}), (std::vector<std::int32_t>{1, 5}));
  v.tokens[5] = "ab";  // no spanning piece: word by word, same answer as whole
  EXPECT_EQ(Tokenizer::from_vocab(v).encode("a b", {false, false}), (std::vector<std::int32_t>{1, 2, 4}));
}

TEST(TextHfJson, TemplateConfigAndSpecialTokens) {
  // ASCII letters as their own tokens, "<s>" and "</s>" as added special tokens.
  json vocab = json::object();
  for (char c = 'a'; c <= 'z'; ++c) vocab[std::string(1, c)] = c - 'a';
  vocab["\xC4\xA0"] = 26;  // 'Ġ', the space byte
  vocab["<"] = 30;
  vocab[">"] = 31;
  json added = json::array({{{"id", 27}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                            {{"id", 28}, {"content", "</s>"}, {"special", true}, {"normalized", false}},
                            {{"id", 29}, {"content", "[X]"}, {"special", false}, {"normalized", false}}});
  json tmpl = {{"type", "TemplateProcessing"},
               {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                       {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
               {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {27}}}}, {"</s>", {{"id", "</s>"}, {"ids", {28}}}}}}};
  json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}},
            {"added_tokens", added},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
            {"post_processor", tmpl},
            {"decoder", {{"type", "ByteLevel"}}}};
  const Tokenizer tok = hf_from_text(j.dump());
  EXPECT_EQ(tok.bos(), 27);
  EXPECT_EQ(tok.eos(), 28);
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_EQ(tok.encode("ab"), (std::vector<std::int32_t>{27, 0, 1, 28}));
  EXPECT_EQ(tok.encode("ab", {false, false}), (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(tok.encode("a<s>b[X]", {false, true}), (std::vector<std::int32_t>{0, 27, 1, 29}));
  EXPECT_EQ(tok.encode("a<s>b[X]", {false, false}), (std::vector<std::int32_t>{0, 30, 18, 31, 1, 29}));  // <s> is text; [X] is not special
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{27, 0, 26, 1, 28}), "<s>a b</s>");
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{27, 0, 26, 1, 28}, {true}), "a b");
  EXPECT_EQ(tok.kind(27), text::TokenKind::control);
  EXPECT_EQ(tok.kind(29), text::TokenKind::user_defined);
  EXPECT_EQ(tok.find("[X]"), 29);
  EXPECT_EQ(tok.find("nope"), -1);
  EXPECT_EQ(tok.vocab_string(26), "\xC4\xA0");
  EXPECT_EQ(tok.token_bytes(26), " ");

  // tokenizer_config.json: add_bos_token false, add_eos_token false drop them.
  const std::string path = write_tmp("tokenizer.json", j.dump());
  const Tokenizer no_bos = Tokenizer::from_hf_json(path, write_tmp("config.json", R"({"add_bos_token": false, "add_eos_token": false, "bos_token": {"content": "<s>"}})"));
  EXPECT_EQ(no_bos.encode("ab"), (std::vector<std::int32_t>{0, 1}));
  EXPECT_FALSE(no_bos.adds_bos());
  EXPECT_EQ(no_bos.bos(), 27);
  // and add_eos_token true alone keeps the template's BOS.
  const Tokenizer eos = Tokenizer::from_hf_json(path, write_tmp("config2.json", R"({"add_eos_token": true, "eos_token": "</s>"})"));
  EXPECT_EQ(eos.encode("a"), (std::vector<std::int32_t>{27, 0, 28}));
  EXPECT_THROW(Tokenizer::from_hf_json(path, write_tmp("config3.json", R"({"bos_token": "<nope>"})")), Error);
}

TEST(TextHfJson, EndOfTextIsBosAndEosWithoutConfig) {
  json j = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"<|endoftext|>", 1}}}, {"merges", json::array()}}},
            {"added_tokens", json::array({{{"id", 1}, {"content", "<|endoftext|>"}, {"special", true}}})}};
  const Tokenizer t = hf_from_text(j.dump());
  EXPECT_EQ(t.bos(), 1);
  EXPECT_EQ(t.eos(), 1);
  EXPECT_FALSE(t.adds_bos());
  EXPECT_EQ(t.encode("a"), (std::vector<std::int32_t>{0}));
}

TEST(TextHfJson, NfcNormalizerAndLowercase) {
  json vocab = json::object();
  const std::vector<std::string> chars = {"e", "\xC3\xA9", "\xCC\x81", "a", "A", "\xCE\xA3", "\xCF\x83", "\xCF\x82"};  // e é ◌́ a A Σ σ ς
  for (const auto& c : chars) vocab[c] = vocab.size();
  auto make = [&](const std::string& type) {
    return json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}, {"unk_token", nullptr}}},
                {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({{{"type", type}}})}}}};
  };
  const Tokenizer nfc = hf_from_text(make("NFC").dump(), "nfc.json");
  const Tokenizer nfd = hf_from_text(make("NFD").dump(), "nfd.json");
  EXPECT_EQ(nfc.encode("e\xCC\x81"), (std::vector<std::int32_t>{1}));     // decomposed -> é
  EXPECT_EQ(nfd.encode("\xC3\xA9"), (std::vector<std::int32_t>{0, 2}));   // é -> e + ◌́
  const Tokenizer lower = hf_from_text(make("Lowercase").dump(), "lower.json");
  EXPECT_EQ(lower.encode("A\xCE\xA3"), (std::vector<std::int32_t>{3, 7}));  // final sigma: Σ -> ς at a word's end
}

TEST(TextHfJson, UnknownCharactersFollowTheModel) {
  json vocab = {{"<unk>", 0}, {"a", 1}, {"<0x62>", 2}};
  auto make = [&](bool fallback, bool fuse) {
    return json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}, {"unk_token", "<unk>"}, {"byte_fallback", fallback}, {"fuse_unk", fuse}}}};
  };
  EXPECT_EQ(hf_from_text(make(true, false).dump(), "a.json").encode("ab"), (std::vector<std::int32_t>{1, 2}));  // b -> <0x62>
  EXPECT_EQ(hf_from_text(make(false, false).dump(), "b.json").encode("axxa"), (std::vector<std::int32_t>{1, 0, 0, 1}));
  EXPECT_EQ(hf_from_text(make(false, true).dump(), "c.json").encode("axxa"), (std::vector<std::int32_t>{1, 0, 1}));  // fused
  json none = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", json::array()}}}};
  EXPECT_THROW(hf_from_text(none.dump(), "d.json").encode("ab"), Error);  // no way to write 'b'
}

TEST(TextByteIds, RawBytesInAndOut) {
  const Tokenizer t = Tokenizer::byte_level();
  EXPECT_EQ(t.size(), 256);
  EXPECT_EQ(Tokenizer().encode("ab"), (std::vector<std::int32_t>{'a', 'b'}));
  EXPECT_EQ(t.bos(), -1);
  EXPECT_FALSE(t.adds_bos());
  const std::string s = "h\xC3\xA9\xFF\n";
  const auto ids = t.encode(s);
  EXPECT_EQ(ids, (std::vector<std::int32_t>{'h', 0xC3, 0xA9, 0xFF, '\n'}));
  EXPECT_EQ(t.decode(ids), s);
  EXPECT_EQ(t.piece(0xFF), "\\xff");
  EXPECT_EQ(t.piece('\n'), "\\n");
  EXPECT_THROW(t.decode(std::vector<std::int32_t>{256}), Error);
  EXPECT_THROW(t.piece(-1), Error);
}

TEST(TextVocabSpec, Gpt2FromGgufKeys) {
  // Byte characters for the 256 bytes, "Ġa" from a merge, a control and a user-defined token.
  text::VocabSpec v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  {
    // tokens 0..255: GPT-2's bytes_to_unicode characters, in byte order (encoder.py's formula)
    std::vector<int> bs;
    for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
    std::vector<int> cs = bs;
    for (int b = 0, n = 0; b < 256; ++b)
      if (std::find(bs.begin(), bs.end(), b) == bs.end()) bs.push_back(b), cs.push_back(256 + n++);
    std::vector<std::string> ch(256);
    for (std::size_t i = 0; i < bs.size(); ++i) {
      std::string u;
      const int c = cs[i];
      if (c < 0x80) u.push_back(static_cast<char>(c));
      else u = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
      ch[static_cast<std::size_t>(bs[i])] = u;
    }
    v.tokens = ch;
  }
  v.tokens.push_back(v.tokens[' '] + "a");  // 256: "Ġa"
  v.tokens.push_back("<|end|>");            // 257: control
  v.tokens.push_back("<tool>");             // 258: user-defined
  v.token_types.assign(256, 1);
  v.token_types.insert(v.token_types.end(), {1, 3, 4});
  v.merges = {v.tokens[' '] + " a"};
  v.eos = 257;
  const Tokenizer t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t.encode("b a<tool>", {false, false}), (std::vector<std::int32_t>{'b', 256, 258}));
  const auto ids = t.encode("b a<tool><|end|>", {false, false});
  ASSERT_EQ(ids.size(), 3u + 7u);  // <|end|> is text without parse_special
  EXPECT_EQ(ids[1], 256);
  EXPECT_EQ(ids[2], 258);
  EXPECT_EQ(t.encode("b a<|end|>", {false, true}).back(), 257);
  EXPECT_EQ(t.decode(t.encode("b a<tool>x", {false, false})), "b a<tool>x");
  EXPECT_FALSE(t.adds_bos());
  // the Llama-3 pre names add BOS by default
  v.pre = "llama-bpe";
  v.bos = 257;
  EXPECT_EQ(Tokenizer::from_vocab(v).encode("a").front(), 257);
  v.add_bos = false;
  EXPECT_EQ(Tokenizer::from_vocab(v).encode("a").front(), 'a');
  v.pre = "no-such-pre";
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
}

}  // namespace
}  // namespace attend::test
