// tiktoken rank files ("<base64 token> <rank>" per line; OpenAI's encodings, Llama 3's original
// tokenizer.model): byte-level BPE where a merge's priority is the rank of the merged bytes.
#include "attend/io.h"
#include "text/check.h"
#include "text/tokenizer_impl.h"

namespace attend::text {
namespace detail {
namespace {

constexpr const char* kWhere = "Tokenizer::from_tiktoken";

bool base64_decode(std::string_view in, std::string& out) {
  auto value = [](char c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<TokenizerImpl> parse_tiktoken(std::string_view text, const TiktokenSpec& spec, const std::string& name) {
  auto fail = [&](const auto&... parts) { detail::fail(kWhere, name, ": ", parts...); };
  auto m = std::make_shared<TokenizerImpl>();
  m->model = ModelKind::tiktoken;
  m->decode = DecodeKind::raw;
  std::vector<std::pair<std::string, std::int64_t>> entries;
  std::size_t line_no = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t sp = line.find(' ');
    std::string token;
    if (sp == std::string_view::npos || !base64_decode(line.substr(0, sp), token) || token.empty())
      fail("line ", line_no, " is not \"<base64 token> <rank>\"");
    std::int64_t rank = 0;
    const std::string_view digits = line.substr(sp + 1);
    if (digits.empty() || digits.size() > 9) fail("line ", line_no, ": rank \"", digits, "\" is not a number below 10^9");
    for (char c : digits) {
      if (c < '0' || c > '9') fail("line ", line_no, ": rank \"", digits, "\" is not a number");
      rank = rank * 10 + (c - '0');
    }
    entries.emplace_back(std::move(token), rank);
  }
  std::int64_t max_id = -1;
  for (const auto& e : entries) max_id = std::max(max_id, e.second);
  for (const auto& [s, id] : spec.special_tokens) max_id = std::max<std::int64_t>(max_id, id);
  const auto total = static_cast<std::int64_t>(entries.size() + spec.special_tokens.size());
  if (max_id >= total + (1 << 16) || max_id >= kMaxVocab) fail("rank ", max_id, " is far beyond the ", total, " tokens");
  m->resize(static_cast<std::size_t>(max_id + 1));
  for (const auto& [token, id] : entries) {
    if (m->present[static_cast<std::size_t>(id)]) fail("rank ", id, " is given twice");
    if (m->model_ids.count(token)) fail("a token appears twice (ranks ", m->model_ids.find(token)->second, " and ", id, ")");
    m->set_token(static_cast<std::int32_t>(id), token, TokenKind::normal, true, kWhere);
  }
  for (int b = 0; b < 256; ++b)
    if (!m->model_ids.count(std::string(1, static_cast<char>(b)))) fail("byte ", b, " has no rank, so some text cannot be encoded");
  for (const auto& [s, id] : spec.special_tokens) {
    if (id < 0) fail("special token \"", s, "\" has a negative id");
    if (m->present[static_cast<std::size_t>(id)]) fail("special token \"", s, "\" reuses id ", id);
    m->set_token(id, s, TokenKind::control, false, kWhere);
    m->special[static_cast<std::size_t>(id)] = 1;
    m->raw_added.add({s, id, true});
  }
  if (spec.pattern.empty()) fail("the spec has no split pattern");
  m->pre_tokenizers.push_back(PreTokenizerStep::split_on(spec.pattern, std::string(kWhere) + ": " + name));
  for (const std::int32_t id : {spec.bos, spec.eos})
    if (id >= 0 && (id > max_id || !m->present[static_cast<std::size_t>(id)])) fail("bos/eos id ", id, " is not a token");
  m->bos = spec.bos;
  m->eos = spec.eos;
  if (spec.add_bos) {
    if (spec.bos < 0) fail("add_bos without a bos id");
    m->prefix = {spec.bos};
  }
  m->finish();
  m->description = name + ": tiktoken BPE, " + std::to_string(m->strings.size()) + " tokens";
  return m;
}

}  // namespace detail

std::string tiktoken_pattern(std::string_view encoding) {
  if (encoding == "gpt2" || encoding == "r50k_base" || encoding == "p50k_base" || encoding == "p50k_edit")
    return "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  if (encoding == "cl100k_base")
    return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  if (encoding == "o200k_base")
    return "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
           "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
           "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  detail::fail("tiktoken_pattern", "unknown encoding '", encoding, "' (gpt2, r50k_base, p50k_base, cl100k_base, o200k_base)");
}

Tokenizer Tokenizer::from_tiktoken(const std::string& path, const TiktokenSpec& spec) {
  return detail::TokenizerImpl::wrap(detail::parse_tiktoken(read_file(path), spec, path));
}

}  // namespace attend::text
