// Malformed tokenizer files are refused with an attend::Error that names the file and the problem;
// bad ids in decode are errors; unsupported pipeline steps are named, never approximated.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "attend/error.h"
#include "attend/tokenizer.h"
#include "text_test_util.h"

namespace attend::test {
namespace {

using nlohmann::json;
using text::Tokenizer;

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected attend::Error mentioning '" << needles.front() << "'";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << e.what() << "' lacks '" << n << "'";
  }
}

json minimal() { return {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}}; }

void expect_json_error(const json& j, const std::string& what) {
  const std::string path = write_tmp("bad.json", j.dump());
  expect_error([&] { Tokenizer::from_hf_json(path); }, {path, what});
}

TEST(TextErrors, TokenizerJson) {
  EXPECT_EQ(hf_from_text(minimal().dump()).encode("ab"), (std::vector<std::int32_t>{2}));
  const std::string path = write_tmp("notjson.json", "{\"model\": ");
  expect_error([&] { Tokenizer::from_hf_json(path); }, {path, "not valid JSON"});
  expect_error([&] { Tokenizer::from_hf_json(write_tmp("missing.json", "")); }, {"not valid JSON"});
  expect_error([] { Tokenizer::from_hf_json("/nonexistent/tokenizer.json"); }, {"/nonexistent/tokenizer.json"});

  json j = minimal();
  j["model"]["type"] = "WordPiece";
  expect_json_error(j, "model type \"WordPiece\" is not supported");
  j = minimal();
  j.erase("model");
  expect_json_error(j, "has no \"model\"");
  j = minimal();
  j["model"]["merges"] = {"a c"};
  expect_json_error(j, "merges[0]");
  j["model"]["merges"] = {"a b c"};
  expect_json_error(j, "is not two tokens");
  j = minimal();
  j["model"]["vocab"]["dup"] = 1;
  expect_json_error(j, "used by both");
  j = minimal();
  j["model"]["vocab"]["far"] = 100000000;
  expect_json_error(j, "far beyond");
  j = minimal();
  j["model"]["vocab"]["neg"] = -3;
  expect_json_error(j, "negative");
  j = minimal();
  j["model"]["dropout"] = 0.1;
  expect_json_error(j, "dropout");
  j = minimal();
  j["model"]["unk_token"] = "<unk>";
  expect_json_error(j, "unk_token \"<unk>\" is not in model.vocab");
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_json_error(j, "pre_tokenizer type \"Whitespace\" is not supported");
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}, {"behavior", "Isolated"}};
  expect_json_error(j, "does not compile");
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  expect_json_error(j, "Split behavior \"Sideways\"");
  j = minimal();
  j["normalizer"] = {{"type", "Precompiled"}};
  expect_json_error(j, "normalizer type \"Precompiled\"");
  j = minimal();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_json_error(j, "decoder type \"WordPiece\"");
  j = minimal();
  j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", json::array({{{"SpecialToken", {{"id", "<x>"}}}}})}, {"special_tokens", json::object()}};
  expect_json_error(j, "\"<x>\" is not in special_tokens");
  j = minimal();
  j["added_tokens"] = json::array({{{"id", 5}, {"content", "<w>"}, {"single_word", true}}});
  expect_json_error(j, "single_word");
  j = minimal();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array()}};
  for (int i = 0; i < 40; ++i) j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({j["normalizer"]})}};
  expect_json_error(j, "nests too deeply");
}

TEST(TextErrors, Gpt2Files) {
  const std::string vocab = write_tmp("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  EXPECT_EQ(Tokenizer::from_gpt2_files(vocab, write_tmp("merges.txt", "#version: 0.2\na b\n")).encode("ab"), (std::vector<std::int32_t>{2}));
  const std::string bad = write_tmp("merges_bad.txt", "#version: 0.2\na b\nab b\n");
  expect_error([&] { Tokenizer::from_gpt2_files(vocab, bad); }, {vocab, "merges.txt line 3"});
  expect_error([&] { Tokenizer::from_gpt2_files(vocab, write_tmp("merges_one.txt", "a\n")); }, {"line 1", "two tokens"});
  expect_error([&] { Tokenizer::from_gpt2_files(write_tmp("vocab_arr.json", "[1, 2]"), bad); }, {"not a JSON object"});
  expect_error([&] { Tokenizer::from_gpt2_files(write_tmp("vocab_str.json", R"({"a": "zero"})"), bad); }, {"not an integer"});
}

TEST(TextErrors, SentencePieceModel) {
  expect_error([&] { Tokenizer::from_sentencepiece(write_tmp("garbage.model", "\xFF\xFF\xFF\xFF\xFF")); }, {"garbage.model", "not a SentencePiece model"});
  expect_error([&] { Tokenizer::from_sentencepiece(write_tmp("empty.model", "")); }, {"empty.model", "no pieces"});
  // A piece field longer than the file.
  expect_error([&] { Tokenizer::from_sentencepiece(write_tmp("short.model", std::string("\x0a\x7f\x0a\x01", 4))); }, {"runs past the end"});
  // Well-formed protobuf that libsentencepiece refuses (no unknown piece).
  expect_error([&] { Tokenizer::from_sentencepiece(write_tmp("nounk.model", std::string("\x0a\x03\x0a\x01x", 5))); }, {"nounk.model", "libsentencepiece"});
}

TEST(TextErrors, Tiktoken) {
  text::TiktokenSpec spec;
  spec.pattern = "\\S+|\\s+";
  std::string ranks;
  for (int b = 0; b < 256; ++b) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ranks += std::string{k[b >> 2], k[(b & 3) << 4], '=', '='} + " " + std::to_string(b) + "\n";
  }
  EXPECT_EQ(Tokenizer::from_tiktoken(write_tmp("ok.tiktoken", ranks), spec).encode("hi"), (std::vector<std::int32_t>{'h', 'i'}));
  expect_error([&] { Tokenizer::from_tiktoken(write_tmp("b64.tiktoken", ranks + "@@@ 300\n"), spec); }, {"b64.tiktoken", "line 257"});
  expect_error([&] { Tokenizer::from_tiktoken(write_tmp("dup.tiktoken", ranks + "YWI= 7\n"), spec); }, {"rank 7 is given twice"});
  expect_error([&] { Tokenizer::from_tiktoken(write_tmp("nobyte.tiktoken", "YQ== 0\n"), spec); }, {"byte 0 has no rank"});
  expect_error([&] { Tokenizer::from_tiktoken(write_tmp("rank.tiktoken", ranks + "YWI= x1\n"), spec); }, {"not a number"});
  spec.pattern = "(";
  expect_error([&] { Tokenizer::from_tiktoken(write_tmp("ok2.tiktoken", ranks), spec); }, {"does not compile"});
  expect_error([] { text::tiktoken_pattern("p99k"); }, {"p99k"});
}

TEST(TextErrors, VocabSpecAndIds) {
  text::VocabSpec v;
  v.model = "bert";
  v.tokens = {"a"};
  expect_error([&] { Tokenizer::from_vocab(v); }, {"tokenizer.ggml.model 'bert'"});
  v.model = "llama";
  expect_error([&] { Tokenizer::from_vocab(v); }, {"0 scores for 1 tokens"});
  v.scores = {0};
  v.token_types = {9};
  expect_error([&] { Tokenizer::from_vocab(v); }, {"token_type 9"});
  v.token_types = {1};
  v.bos = 4;
  expect_error([&] { Tokenizer::from_vocab(v); }, {"special token id 4"});
  v.bos = -1;
  v.tokens = {"a", "a"};
  v.scores = {0, 0};
  v.token_types = {1, 1};
  expect_error([&] { Tokenizer::from_vocab(v); }, {"repeats token 0"});
  v.model = "gpt2";
  v.tokens = {"a", "b"};
  v.pre = "gpt-2";
  v.merges = {"a c"};
  expect_error([&] { Tokenizer::from_vocab(v); }, {"merge 0 ('a', 'c')"});
  v.merges = {};
  expect_error([&] { Tokenizer::from_vocab(v); }, {"needs tokenizer.ggml.merges"});

  const Tokenizer t = hf_from_text(minimal().dump());
  expect_error([&] { t.decode(std::vector<std::int32_t>{0, 3}); }, {"Tokenizer::decode", "token id 3"});
  expect_error([&] { t.decode(std::vector<std::int32_t>{-1}); }, {"token id -1"});
  expect_error([&] { t.vocab_string(99); }, {"Tokenizer::vocab_string"});
  expect_error([] { Tokenizer::from_directory("/nonexistent-dir"); }, {"not a directory"});
  const std::filesystem::path empty = std::filesystem::path(write_tmp("empty", "")).concat(".d");
  std::filesystem::create_directories(empty);
  expect_error([&] { Tokenizer::from_directory(empty.string()); }, {"has no tokenizer.json"});
}

TEST(TextDirectory, PrefersTokenizerJson) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(write_tmp("dir", "")).concat(".d");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.json") << R"({"a": 0, "b": 1})";
  std::ofstream(dir / "merges.txt") << "#version: 0.2\n";
  EXPECT_EQ(Tokenizer::from_directory(dir.string()).encode("ab"), (std::vector<std::int32_t>{0, 1}));
  std::ofstream(dir / "tokenizer.json") << minimal().dump();
  EXPECT_EQ(Tokenizer::from_directory(dir.string()).encode("ab"), (std::vector<std::int32_t>{2}));
  EXPECT_EQ(Tokenizer::load((dir / "tokenizer.json").string()).encode("ab"), (std::vector<std::int32_t>{2}));
  EXPECT_EQ(Tokenizer::load(dir.string()).encode("ab"), (std::vector<std::int32_t>{2}));
}

}  // namespace
}  // namespace attend::test
