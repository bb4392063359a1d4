#pragma once
// Helpers of the tokenizer tests: temporary files, a small BPE trainer and straightforward
// (quadratic) reference encoders written from the algorithms' descriptions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "attend/tokenizer.h"

namespace attend::test {

// A file under the test temp dir, named after the running test (ctest runs tests in parallel).
inline std::string write_tmp(const std::string& name, const std::string& content) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = ::testing::TempDir() + "attend_text_" + info->test_suite_name() + "_" + info->name() + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

inline std::uint32_t draw(std::mt19937& rng, std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); }

// Classic BPE training on symbol strings: merge the most frequent adjacent pair (ties: the
// smallest pair), `n` times. Returns the merges in learned order.
inline std::vector<std::pair<std::string, std::string>> learn_bpe(const std::vector<std::string>& words, int n) {
  std::vector<std::vector<std::string>> seqs;
  for (const std::string& w : words) {
    std::vector<std::string> s;
    for (char c : w) s.emplace_back(1, c);
    seqs.push_back(s);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (int k = 0; k < n; ++k) {
    std::map<std::pair<std::string, std::string>, int> count;
    for (const auto& s : seqs)
      for (std::size_t i = 0; i + 1 < s.size(); ++i) ++count[{s[i], s[i + 1]}];
    if (count.empty()) break;
    auto best = count.begin();
    for (auto it = count.begin(); it != count.end(); ++it)
      if (it->second > best->second) best = it;
    merges.push_back(best->first);
    for (auto& s : seqs) {
      std::vector<std::string> t;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == best->first.first && s[i + 1] == best->first.second) {
          t.push_back(s[i] + s[i + 1]);
          ++i;
        } else {
          t.push_back(s[i]);
        }
      }
      s = t;
    }
  }
  return merges;
}

// GPT-2's encoder.py bpe(): merge every occurrence of the lowest-ranked adjacent pair, repeat.
inline std::vector<std::string> naive_gpt2_bpe(const std::string& word, const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> w;
  for (char c : word) w.emplace_back(1, c);
  while (w.size() > 1) {
    int best = -1;
    std::pair<std::string, std::string> bigram;
    for (std::size_t i = 0; i + 1 < w.size(); ++i) {
      const auto it = ranks.find({w[i], w[i + 1]});
      if (it != ranks.end() && (best < 0 || it->second < best)) best = it->second, bigram = it->first;
    }
    if (best < 0) break;
    std::vector<std::string> t;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (i + 1 < w.size() && w[i] == bigram.first && w[i + 1] == bigram.second) {
        t.push_back(w[i] + w[i + 1]);
        ++i;
      } else {
        t.push_back(w[i]);
      }
    }
    w = t;
  }
  return w;
}

// tiktoken's byte_pair_merge: the whole piece if it has a rank, else merge the leftmost
// lowest-ranked adjacent pair one at a time.
inline std::vector<std::int32_t> naive_tiktoken(const std::string& piece, const std::map<std::string, std::int32_t>& ranks) {
  if (const auto it = ranks.find(piece); it != ranks.end()) return {it->second};
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  while (parts.size() > 1) {
    std::int32_t best = -1;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = ranks.find(parts[i] + parts[i + 1]);
      if (it != ranks.end() && (best < 0 || it->second < best)) best = it->second, at = i;
    }
    if (best < 0) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  std::vector<std::int32_t> ids;
  for (const auto& p : parts) ids.push_back(ranks.at(p));
  return ids;
}

// SentencePiece BPE by its description: merge the adjacent pair whose concatenation is a piece with
// the highest score (the leftmost on ties), one at a time; pieces missing from the vocabulary
// become their bytes' <0xNN> tokens.
inline std::vector<std::int32_t> naive_spm(const std::string& text, const std::map<std::string, std::int32_t>& ids, const std::vector<float>& scores) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    parts.push_back(text.substr(i, n));
    i += n;
  }
  while (parts.size() > 1) {
    bool found = false;
    float best = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = ids.find(parts[i] + parts[i + 1]);
      if (it == ids.end()) continue;
      const float s = scores[static_cast<std::size_t>(it->second)];
      if (!found || s > best) found = true, best = s, at = i;
    }
    if (!found) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  std::vector<std::int32_t> out;
  for (const auto& p : parts) {
    if (const auto it = ids.find(p); it != ids.end()) {
      out.push_back(it->second);
      continue;
    }
    for (char c : p) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned char>(c));
      out.push_back(ids.at(name));
    }
  }
  return out;
}

// Loads a tokenizer.json given as text.
inline text::Tokenizer hf_from_text(const std::string& json, const std::string& name = "tokenizer.json") {
  return text::Tokenizer::from_hf_json(write_tmp(name, json));
}

}  // namespace attend::test
