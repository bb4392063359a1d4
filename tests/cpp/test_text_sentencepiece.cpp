// One SentencePiece vocabulary, three ways in: the tokenizer.model through libsentencepiece, the
// same pieces as a GGUF VocabSpec through our own SentencePiece-BPE, and as a Llama-2-style
// tokenizer.json through our Hugging Face BPE. Every id must agree on the hard strings
// (tests/text/hard_strings.json) and on random text; decode must agree with libsentencepiece.
// Also: concurrency, long inputs, the Metaspace (Mistral-style) layout.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "attend/error.h"
#include "attend/io.h"
#include "attend/tokenizer.h"
#include "spm_fixture.h"
#include "text/utf8.h"
#include "text_test_util.h"

namespace attend::test {
namespace {

using nlohmann::json;
using text::EncodeOptions;
using text::Tokenizer;

struct Trained {
  std::string dir, model;
  text::VocabSpec spec;
  std::string json;
};

// Trained once per process (a fraction of a second).
const Trained& trained() {
  static const Trained t = [] {
    Trained r;
    r.dir = ::testing::TempDir() + "attend_text_spm_" + std::to_string(::getpid());
    r.model = train_spm(r.dir);
    r.spec = spm_vocab_spec(r.model);
    r.json = spm_tokenizer_json(r.spec);
    write_file_atomically(r.dir + "/tokenizer.json", r.json);
    return r;
  }();
  return t;
}

std::vector<std::string> hard_strings() {
  const json j = json::parse(read_file(std::string(ATTEND_SOURCE_DIR) + "/tests/text/hard_strings.json"));
  std::vector<std::string> out;
  for (const auto& h : j) {
    if (h.contains("hex")) {
      const std::string hex = h["hex"];
      std::string bytes;
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      out.push_back(bytes);
    } else {
      std::string s;
      for (int k = 0; k < h.value("repeat", 1); ++k) s += h["text"].get<std::string>();
      out.push_back(s);
    }
  }
  return out;
}

std::vector<std::string> random_texts(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> units = {"ka", "to", "the", "ing", "str", " ", " ", "  ", "\t", "\n", "0", "7", "42", "'s", "don't",
                                          "мир", "世界", "é", "e\xCC\x81", "\xF0\x9F\x98\x80", "\xE2\x88\x91", "<s>", "</s>", "<unk>",
                                          "A", "Z", "q", "x", "!", "?", ".", ",", "\xE2\x96\x81", "\xD8\xA8", "\xE0\xA4\x95"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    for (std::uint32_t k = 0, len = 1 + draw(rng, 30); k < len; ++k) s += units[draw(rng, static_cast<std::uint32_t>(units.size()))];
    out.push_back(s);
  }
  return out;
}

TEST(TextSentencePiece, ThreeWaysGiveTheSameIds) {
  const Trained& t = trained();
  const Tokenizer lib = Tokenizer::from_sentencepiece(t.model);
  const Tokenizer own = Tokenizer::from_vocab(t.spec);
  const Tokenizer hf = Tokenizer::from_hf_json(t.dir + "/tokenizer.json");
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(t.model).ok());
  EXPECT_EQ(lib.size(), own.size());
  EXPECT_EQ(lib.size(), hf.size());
  std::vector<std::string> texts = hard_strings();
  for (auto& s : random_texts(400, 77)) texts.push_back(s);
  int byte_fallbacks = 0;
  for (const std::string& s : texts) {
    for (const bool special : {false, true}) {
      const EncodeOptions opt{true, special};
      const auto a = lib.encode(s, opt);
      ASSERT_EQ(own.encode(s, opt), a) << s;
      ASSERT_EQ(hf.encode(s, opt), a) << s;
      ASSERT_FALSE(a.empty());
      EXPECT_EQ(a.front(), t.spec.bos);  // Llama: BOS first
    }
    const auto ids = lib.encode(s, {false, false});
    // libsentencepiece itself on valid text (our encode repairs invalid UTF-8 first).
    std::vector<int> sp_ids;
    ASSERT_TRUE(sp.Encode(lib.decode(ids), &sp_ids).ok());
    EXPECT_EQ(std::vector<std::int32_t>(sp_ids.begin(), sp_ids.end()), ids) << s;
    for (const auto id : ids) byte_fallbacks += lib.kind(id) == text::TokenKind::byte;
    // decode: what libsentencepiece's DecodeIds gives, for every way in
    const std::string sp_text = sp.DecodeIds(std::vector<int>(ids.begin(), ids.end()));
    EXPECT_EQ(lib.decode(ids), sp_text) << s;
    EXPECT_EQ(own.decode(ids), sp_text) << s;
    EXPECT_EQ(hf.decode(ids, {true}), sp_text) << s;
  }
  EXPECT_GT(byte_fallbacks, 100);  // the hard strings exercise byte fallback
}

TEST(TextSentencePiece, SpecialsLeadingSpaceAndPieces) {
  const Trained& t = trained();
  const Tokenizer lib = Tokenizer::from_sentencepiece(t.model);
  EXPECT_EQ(lib.bos(), 1);
  EXPECT_EQ(lib.eos(), 2);
  EXPECT_TRUE(lib.adds_bos());
  // parse_special: "</s>" in the text is the EOS token; otherwise it is characters.
  const auto with = lib.encode("a</s>b", {false, true});
  EXPECT_NE(std::find(with.begin(), with.end(), 2), with.end());
  const auto without = lib.encode("a</s>b", {false, false});
  EXPECT_EQ(std::find(without.begin(), without.end(), 2), without.end());
  // The dummy prefix: " x" encodes as "▁▁x"-ish and decodes back with its space.
  EXPECT_EQ(lib.decode(lib.encode(" leading", {false, false})), " leading");
  // A rendered BOS is the first token decoded, so the prefix space stays (as HF and llama.cpp print it).
  EXPECT_EQ(lib.decode(lib.encode("plain", {true, false})), "<s> plain");
  EXPECT_EQ(lib.decode(lib.encode("plain", {true, false}), {true}), "plain");
  // Every display piece is valid UTF-8, byte tokens included.
  for (std::int32_t id = 0; id < lib.size(); ++id) {
    const std::string p = lib.piece(id);
    EXPECT_TRUE(text::detail::is_valid_utf8(p)) << id;
    EXPECT_EQ(p.find('\n'), std::string::npos);
  }
  EXPECT_EQ(lib.piece(lib.find("<0x0A>")), "\\n");
  EXPECT_EQ(lib.piece(lib.find("<0xFF>")), "\\xff");
}

TEST(TextSentencePiece, MetaspaceLayoutPrependsOnceAtTheStart) {
  // Mistral-style tokenizer.json: no normalizer, Metaspace(prepend_scheme "first", split false).
  const Trained& t = trained();
  json j = json::parse(t.json);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", false}};
  j["decoder"] = {{"type", "Sequence"}, {"decoders", json::array({{{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", false}},
                                                                  {{"type", "ByteFallback"}}, {{"type", "Fuse"}}})}};
  const Tokenizer meta = hf_from_text(j.dump(), "metaspace.json");
  const Tokenizer legacy = Tokenizer::from_hf_json(t.dir + "/tokenizer.json");
  for (const std::string& s : random_texts(200, 5)) {
    if (s[0] == ' ' || s.find("\xE2\x96\x81") != std::string::npos || s.find('<') != std::string::npos) continue;
    EXPECT_EQ(meta.encode(s, {false, false}), legacy.encode(s, {false, false})) << s;
    EXPECT_EQ(meta.decode(meta.encode(s, {false, false})), s);
  }
  // Hugging Face's Metaspace does not prepend to text that already starts with a space; the
  // legacy normalizer (and libsentencepiece) always does.
  EXPECT_EQ(meta.encode(" hi", {false, false}), legacy.encode("hi", {false, false}));
  EXPECT_NE(legacy.encode(" hi", {false, false}), legacy.encode("hi", {false, false}));
  // "first": after a special token, no prefix (the legacy layout prefixes every segment).
  const auto after = meta.encode("<s>hi", {false, true});
  ASSERT_GE(after.size(), 2u);
  EXPECT_EQ(after[0], 1);
  EXPECT_EQ(meta.vocab_string(after[1]).rfind("\xE2\x96\x81", 0), std::string::npos);
}

TEST(TextSentencePiece, ConcurrentEncodesAgree) {
  const Trained& t = trained();
  const Tokenizer toks[] = {Tokenizer::from_sentencepiece(t.model), Tokenizer::from_vocab(t.spec), Tokenizer::from_hf_json(t.dir + "/tokenizer.json")};
  const std::vector<std::string> texts = random_texts(200, 9);
  std::vector<std::vector<std::int32_t>> want;
  for (const auto& s : texts) want.push_back(toks[0].encode(s));
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 6; ++w)
    threads.emplace_back([&, w] {
      for (int rep = 0; rep < 3; ++rep)
        for (std::size_t i = 0; i < texts.size(); ++i)
          if (toks[(w + rep) % 3].encode(texts[i]) != want[i]) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(TextSentencePiece, LongInputsAgreeAndRoundTrip) {
  const Trained& t = trained();
  const Tokenizer lib = Tokenizer::from_sentencepiece(t.model);
  const Tokenizer own = Tokenizer::from_vocab(t.spec);
  const Tokenizer hf = Tokenizer::from_hf_json(t.dir + "/tokenizer.json");
  std::string big;  // ~1 MB, one SentencePiece "word" (no pre-tokenizer splits it)
  const auto texts = random_texts(3000, 21);
  while (big.size() < (1u << 20))
    for (const auto& s : texts)
      if (s.find("\xE2\x96\x81") == std::string::npos) big += s + " ";  // a "▁" in the text decodes as a space
  const auto ids = lib.encode(big, {false, false});
  EXPECT_EQ(own.encode(big, {false, false}), ids);
  EXPECT_EQ(hf.encode(big, {false, false}), ids);
  EXPECT_EQ(lib.decode(ids), big);
  const std::string word(20000, 'k');
  EXPECT_EQ(own.encode(word, {false, false}), lib.encode(word, {false, false}));
}

}  // namespace
}  // namespace attend::test
