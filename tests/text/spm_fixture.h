#pragma once
// A small SentencePiece BPE model trained at test time (libsentencepiece's trainer, one thread, a
// generated corpus: deterministic), the Llama-2 way: identity normalization, dummy prefix, digits
// split, byte fallback. From it: the VocabSpec a GGUF file would carry and a Llama-2-style
// tokenizer.json (Hugging Face's LlamaConverter layout), so the three paths can be compared.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "attend/tokenizer.h"

namespace attend::test {

inline std::string spm_corpus() {
  std::mt19937 rng(20240611);
  auto below = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };  // raw engine output: portable
  const std::vector<std::string> syllables = {"ka", "to", "ri", "en", "the", "an", "ing", "ver", "sta", "lo", "mi", "qu", "str", "ou",
                                              "ph", "ion", "al", "er", "re", "de", "ze", "ch", "sh", "ay", "oo", "ll"};
  const std::vector<std::string> others = {"мир", "привет", "данные", "世界", "数据", "模型", "テスト", "café", "naïve", "Ωμέγα", "😀", "👍🏽",
                                           "don't", "it's", "I'm", "we'll", "(x)", "[1]", "a+b", "x=y;", "--", "...", "?!", "\t", "  "};
  std::string out;
  for (int line = 0; line < 4000; ++line) {
    const std::uint32_t words = 3 + below(12);
    for (std::uint32_t w = 0; w < words; ++w) {
      if (w) out += ' ';
      const std::uint32_t kind = below(20);
      if (kind < 13) {
        std::string word;
        for (std::uint32_t s = 0, n = 1 + below(4); s < n; ++s) word += syllables[below(static_cast<std::uint32_t>(syllables.size()))];
        if (below(6) == 0) word[0] = static_cast<char>(word[0] - 'a' + 'A');
        out += word;
      } else if (kind < 16) {
        out += std::to_string(below(100000));
      } else {
        out += others[below(static_cast<std::uint32_t>(others.size()))];
      }
    }
    out += '\n';
  }
  return out;
}

// Trains dir/tokenizer.model (and tokenizer.vocab); returns the model's path.
inline std::string train_spm(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string corpus = dir + "/corpus.txt";
  std::ofstream(corpus, std::ios::binary) << spm_corpus();
  const std::string args = "--input=" + corpus + " --model_prefix=" + dir +
                           "/tokenizer --model_type=bpe --vocab_size=1500 --byte_fallback=true --split_digits=true"
                           " --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=true"
                           " --allow_whitespace_only_pieces=true --character_coverage=0.999 --num_threads=1 --minloglevel=2"
                           " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --max_sentence_length=100000";
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) throw std::runtime_error("spm training failed: " + status.ToString());
  return dir + "/tokenizer.model";
}

// The vocabulary as a GGUF file's tokenizer.ggml.* keys carry it (llama.cpp's converter).
inline text::VocabSpec spm_vocab_spec(const std::string& model_path) {
  sentencepiece::SentencePieceProcessor sp;
  const auto status = sp.Load(model_path);
  if (!status.ok()) throw std::runtime_error("spm load failed: " + status.ToString());
  text::VocabSpec v;
  v.model = "llama";
  v.pre = "default";
  for (int i = 0; i < sp.GetPieceSize(); ++i) {
    v.tokens.push_back(sp.IdToPiece(i));
    v.scores.push_back(sp.GetScore(i));
    v.token_types.push_back(sp.IsUnknown(i) ? 2 : sp.IsControl(i) ? 3 : sp.IsUnused(i) ? 5 : sp.IsByte(i) ? 6 : 1);
  }
  v.bos = sp.bos_id();
  v.eos = sp.eos_id();
  v.unk = sp.unk_id();
  return v;
}

// A Llama-2-style tokenizer.json for the same vocabulary: BPE with byte fallback, merges as
// transformers' SentencePieceExtractor derives them (every split of a piece into two pieces,
// ordered by the piece's score, then by the ids of the two halves).
inline std::string spm_tokenizer_json(const text::VocabSpec& v) {
  using nlohmann::json;
  std::map<std::string, std::int32_t> ids;
  json vocab = json::object();
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    ids[v.tokens[i]] = static_cast<std::int32_t>(i);
    vocab[v.tokens[i]] = i;
  }
  struct Merge {
    float score;
    std::string a, b;
  };
  std::vector<Merge> merges;
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    const std::string& piece = v.tokens[i];
    std::vector<std::pair<std::pair<std::int32_t, std::int32_t>, Merge>> local;
    for (std::size_t k = 1; k < piece.size(); ++k) {
      if ((static_cast<unsigned char>(piece[k]) & 0xC0) == 0x80) continue;  // split between characters only
      const std::string a = piece.substr(0, k), b = piece.substr(k);
      const auto ia = ids.find(a), ib = ids.find(b);
      if (ia != ids.end() && ib != ids.end()) local.push_back({{ia->second, ib->second}, {v.scores[i], a, b}});
    }
    std::sort(local.begin(), local.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& m : local) merges.push_back(std::move(m.second));
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) { return x.score > y.score; });
  json merge_list = json::array();
  for (const Merge& m : merges) merge_list.push_back(json::array({m.a, m.b}));
  auto added = [&](std::int32_t id) {
    return json{{"id", id}, {"content", v.tokens[static_cast<std::size_t>(id)]}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", true}};
  };
  const std::string space = "\xe2\x96\x81";
  const std::string bos = v.tokens[static_cast<std::size_t>(v.bos)];
  json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array({added(v.unk), added(v.bos), added(v.eos)})},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", space}},
                                                                          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}}})}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                          {"pair", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                                {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
                          {"special_tokens", {{bos, {{"id", bos}, {"ids", json::array({v.bos})}, {"tokens", json::array({bos})}}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
                                                                  {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                                  {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", v.tokens[static_cast<std::size_t>(v.unk)]},
                 {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true},
                 {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}},
  };
  return j.dump();
}

}  // namespace attend::test
