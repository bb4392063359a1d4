// attend tokenize: text -> token ids and pieces (or ids -> text) with a model's tokenizer.
#include <climits>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "attend/io.h"
#include "attend/tokenizer.h"
#include "command.h"
#include "core/check.h"

namespace attend::cli {
namespace {

struct TokenizeArgs {
  std::string tokenizer, text, file, decode, encoding;
  bool no_special = false, parse_special = false, json = false, ids_only = false;
  bool has_text = false, has_file = false;  // (--text "" is a text)
};

text::Tokenizer open_tokenizer(const TokenizeArgs& a) {
  if (a.tokenizer == "bytes") return text::Tokenizer::byte_level();
  if (!a.encoding.empty()) {  // a tiktoken rank file
    text::TiktokenSpec spec;
    spec.pattern = text::tiktoken_pattern(a.encoding);
    return text::Tokenizer::from_tiktoken(a.tokenizer, spec);
  }
  return text::Tokenizer::load(a.tokenizer);
}

std::vector<std::int32_t> parse_ids(const std::string& s) {
  std::vector<std::int32_t> ids;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    std::istringstream words(item);
    std::string w;
    while (words >> w) {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != w.size() || v < INT32_MIN || v > INT32_MAX) detail::fail("tokenize", "--decode: '", w, "' is not a token id");
      ids.push_back(static_cast<std::int32_t>(v));
    }
  }
  return ids;
}

int run_tokenize(const TokenizeArgs& a) {
  const text::Tokenizer tok = open_tokenizer(a);
  if (!a.decode.empty()) {
    const std::string out = tok.decode(parse_ids(a.decode), {a.no_special});
    if (a.json) std::printf("%s\n", nlohmann::json({{"text", out}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else std::printf("%s\n", out.c_str());
    return 0;
  }
  if (a.has_text == a.has_file) throw UsageError("give one of --text, --file or --decode");
  const std::string input = a.has_file ? read_file(a.file) : a.text;
  const auto ids = tok.encode(input, {!a.no_special, a.parse_special});
  if (a.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const auto id : ids) pieces.push_back(tok.piece(id));
    std::printf("%s\n", nlohmann::json({{"tokenizer", tok.description()}, {"ids", ids}, {"pieces", pieces}}).dump().c_str());
    return 0;
  }
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
  if (a.ids_only) return 0;
  std::printf("# %s; %zu tokens for %zu bytes\n", tok.description().c_str(), ids.size(), input.size());
  for (const auto id : ids) std::printf("%8d  %s\n", id, tok.piece(id).c_str());
  return 0;
}

const bool registered = register_command("tokenize", "token ids and pieces of a text with a model's tokenizer", [](CLI::App& sub) {
  auto a = std::make_shared<TokenizeArgs>();
  sub.add_option("--tokenizer,--model", a->tokenizer,
                 "a model directory, tokenizer.json, tokenizer.model, a GGUF file, a .tiktoken file (with --encoding) or 'bytes'")
      ->required();
  CLI::Option* text = sub.add_option("--text", a->text, "text to encode");
  CLI::Option* file = sub.add_option("--file", a->file, "file whose bytes to encode");
  sub.add_option("--decode", a->decode, "token ids to decode instead (\"1,2,3\" or \"1 2 3\")");
  sub.add_option("--encoding", a->encoding, "tiktoken split pattern for a .tiktoken file: gpt2, r50k_base, p50k_base, cl100k_base, o200k_base");
  sub.add_flag("--no-special", a->no_special, "no BOS/EOS around the text (decode: leave special tokens out)");
  sub.add_flag("--parse-special", a->parse_special, "match special tokens written in the text (\"<|eot_id|>\", \"</s>\")");
  sub.add_flag("--ids-only", a->ids_only, "print the ids line only");
  sub.add_flag("--json", a->json, "print {tokenizer, ids, pieces} as JSON");
  return [a, text, file] {
    a->has_text = text->count() > 0;
    a->has_file = file->count() > 0;
    return run_tokenize(*a);
  };
});

}  // namespace
}  // namespace attend::cli
