// attend's tokenizers against the npm reference encoders (see reference.mjs, run_reference.sh).
//   text_reference_check prepare DIR   trains the SentencePiece model into DIR/spm and writes its
//                                      Llama-2-style tokenizer.json (for reference.mjs to encode)
//   text_reference_check check DIR     encodes every text of DIR/references.json with the same
//                                      files and compares every id; also through the GGUF path
//                                      (VocabSpec made from the tokenizer.json as llama.cpp's
//                                      converter does) and, for the trained model, libsentencepiece
//                                      and the SentencePiece-BPE VocabSpec path; decode(encode(x))
//                                      must give x back (after U+FFFD repair).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/io.h"
#include "attend/tokenizer.h"
#include "spm_fixture.h"

using attend::text::EncodeOptions;
using attend::text::Tokenizer;
using attend::text::VocabSpec;
using nlohmann::json;

namespace {

std::string base64_decode(const std::string& in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string ids_text(const std::vector<std::int32_t>& ids, std::size_t from) {
  std::ostringstream os;
  for (std::size_t i = from; i < ids.size() && i < from + 12; ++i) os << ids[i] << ' ';
  return os.str();
}

// VocabSpec from a tokenizer.json, as convert_hf_to_gguf.py writes tokenizer.ggml.*.
VocabSpec gguf_from_hf(const std::string& path, const std::string& pre) {
  const json j = json::parse(attend::read_file(path));
  VocabSpec v;
  v.model = "gpt2";
  v.pre = pre;
  std::vector<std::pair<std::int64_t, std::string>> entries;
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it) entries.emplace_back(it.value().get<std::int64_t>(), it.key());
  std::int64_t n = 0;
  for (const auto& e : entries) n = std::max(n, e.first + 1);
  for (const auto& a : j["added_tokens"]) n = std::max(n, a["id"].get<std::int64_t>() + 1);
  v.tokens.resize(static_cast<std::size_t>(n));
  v.token_types.assign(static_cast<std::size_t>(n), 1);
  for (std::int64_t i = 0; i < n; ++i) v.tokens[static_cast<std::size_t>(i)] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, s] : entries) v.tokens[static_cast<std::size_t>(id)] = s;
  for (const auto& a : j["added_tokens"]) {
    const auto id = static_cast<std::size_t>(a["id"].get<std::int64_t>());
    v.tokens[id] = a["content"].get<std::string>();
    v.token_types[id] = a["special"].get<bool>() ? 3 : 4;
  }
  for (const auto& m : j["model"]["merges"]) v.merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  v.add_bos = false;
  return v;
}

struct Run {
  std::string label;
  Tokenizer tok;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: text_reference_check prepare|check DIR\n");
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  try {
    if (mode == "prepare") {
      const std::string model = attend::test::train_spm(dir + "/spm");
      attend::write_file_atomically(dir + "/spm/tokenizer.json", attend::test::spm_tokenizer_json(attend::test::spm_vocab_spec(model)));
      return 0;
    }
    const json ref = json::parse(attend::read_file(dir + "/references.json"));
    std::vector<std::string> texts;
    std::vector<std::string> names, cleans;
    for (const auto& c : ref["cases"]) {
      texts.push_back(base64_decode(c["b64"].get<std::string>()));
      cleans.push_back(base64_decode(c["clean_b64"].get<std::string>()));
      names.push_back(c["name"].get<std::string>());
    }
    int failures = 0;
    long compared = 0;
    for (const auto& t : ref["tokenizers"]) {
      const json& load = t["load"];
      const std::string kind = load["kind"].get<std::string>();
      std::vector<Run> runs;
      if (kind == "gpt2_files") {
        runs.push_back({"vocab.json+merges.txt", Tokenizer::from_gpt2_files(load["vocab"].get<std::string>(), load["merges"].get<std::string>())});
      } else if (kind == "tiktoken") {
        attend::text::TiktokenSpec spec;
        spec.pattern = attend::text::tiktoken_pattern(load["encoding"].get<std::string>());
        for (auto it = load["special_tokens"].begin(); it != load["special_tokens"].end(); ++it)
          spec.special_tokens.emplace_back(it.key(), it.value().get<std::int32_t>());
        runs.push_back({".tiktoken", Tokenizer::from_tiktoken(load["file"].get<std::string>(), spec)});
      } else if (kind == "hf_json") {
        const std::string file = load["file"].get<std::string>();
        runs.push_back({"tokenizer.json", Tokenizer::from_hf_json(file, load["config"].get<std::string>())});
        const std::string pre = load.value("gguf_pre", "");
        if (!pre.empty()) runs.push_back({"GGUF VocabSpec pre=" + pre, Tokenizer::from_vocab(gguf_from_hf(file, pre))});
        if (file.size() > 19 && file.substr(file.size() - 19) == "/spm/tokenizer.json") {
          const std::string model = file.substr(0, file.size() - 14) + "tokenizer.model";
          runs.push_back({"tokenizer.model (libsentencepiece)", Tokenizer::from_sentencepiece(model)});
          if (!t["add_special"].get<bool>()) runs.push_back({"GGUF VocabSpec llama", Tokenizer::from_vocab(attend::test::spm_vocab_spec(model))});
        }
      } else {
        std::fprintf(stderr, "unknown tokenizer kind %s\n", kind.c_str());
        return 2;
      }
      const EncodeOptions opt{t["add_special"].get<bool>(), t["parse_special"].get<bool>()};
      for (const Run& run : runs) {
        int bad = 0, roundtrip_bad = 0;
        long n = 0;
        for (std::size_t i = 0; i < texts.size(); ++i) {
          const json& want_json = t["ids"][i];
          if (want_json.is_null()) continue;
          const auto want = want_json.get<std::vector<std::int32_t>>();
          const std::vector<std::int32_t> got = run.tok.encode(texts[i], opt);
          ++n;
          if (got != want) {
            if (++bad <= 5) {
              std::size_t at = 0;
              while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
              std::fprintf(stderr, "MISMATCH %s [%s] on '%s': first difference at id %zu of %zu/%zu\n  want %s\n  got  %s\n", t["name"].get<std::string>().c_str(),
                           run.label.c_str(), names[i].c_str(), at, want.size(), got.size(), ids_text(want, at).c_str(), ids_text(got, at).c_str());
            }
          }
          if (t.value("roundtrip", false) && run.tok.decode(got) != cleans[i] && ++roundtrip_bad <= 3)
            std::fprintf(stderr, "ROUNDTRIP %s [%s] on '%s': decode(encode(text)) is not the text\n", t["name"].get<std::string>().c_str(),
                         run.label.c_str(), names[i].c_str());
        }
        std::printf("%-60s %-36s %4ld texts: %s\n", t["name"].get<std::string>().c_str(), run.label.c_str(), n,
                    bad || roundtrip_bad ? (std::to_string(bad) + " id mismatches, " + std::to_string(roundtrip_bad) + " round-trip failures").c_str() : "all ids equal");
        failures += bad + roundtrip_bad;
        compared += n;
      }
    }
    std::printf("text_reference_check: %ld encodings compared, %d failures\n", compared, failures);
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "text_reference_check: %s\n", e.what());
    return 1;
  }
}
