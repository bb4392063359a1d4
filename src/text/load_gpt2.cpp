// GPT-2's vocab.json + merges.txt: byte-level BPE with the GPT-2 split pattern, no prefix space;
// "<|endoftext|>" (when the vocabulary has it) is the special token, BOS and EOS, as in Hugging
// Face's GPT2Tokenizer.
#include "attend/io.h"
#include "text/json_util.h"
#include "text/tokenizer_impl.h"

namespace attend::text {
namespace detail {
namespace {
constexpr const char* kWhere = "Tokenizer::from_gpt2_files";
}

std::shared_ptr<TokenizerImpl> parse_gpt2_files(std::string_view vocab_text, std::string_view merges_text, const std::string& name) {
  const JsonReader r(kWhere, name);
  const nlohmann::json vocab = r.parse(vocab_text);
  if (!vocab.is_object()) r.fail("vocab.json is not a JSON object");
  auto m = std::make_shared<TokenizerImpl>();
  m->model = ModelKind::bpe;
  m->decode = DecodeKind::byte_level;
  std::int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) max_id = std::max(max_id, r.integer(it.value(), "vocab.json id"));
  if (max_id >= static_cast<std::int64_t>(vocab.size()) + (1 << 16) || max_id >= kMaxVocab) r.fail("vocab.json id ", max_id, " is far beyond its ", vocab.size(), " entries");
  m->resize(static_cast<std::size_t>(max_id + 1));
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::int64_t id = it.value().get<std::int64_t>();
    if (id < 0) r.fail("vocab.json id ", id, " of \"", it.key(), "\" is negative");
    if (m->present[static_cast<std::size_t>(id)]) r.fail("vocab.json id ", id, " is used by both \"", m->strings[static_cast<std::size_t>(id)], "\" and \"", it.key(), "\"");
    m->set_token(static_cast<std::int32_t>(id), it.key(), TokenKind::normal, true, kWhere);
  }
  // merges.txt: an optional "#version" line, then "a b" per line, rank = order.
  std::int32_t rank = 0;
  std::size_t line_no = 0;
  for (std::size_t at = 0; at < merges_text.size();) {
    std::size_t end = merges_text.find('\n', at);
    if (end == std::string_view::npos) end = merges_text.size();
    std::string_view line = merges_text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.substr(0, 8) == "#version")) continue;
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string_view::npos)
      r.fail("merges.txt line ", line_no, " is not two tokens separated by one space");
    const std::string a(line.substr(0, sp)), b(line.substr(sp + 1));
    const auto ia = m->model_ids.find(a), ib = m->model_ids.find(b), im = m->model_ids.find(a + b);
    if (ia == m->model_ids.end() || ib == m->model_ids.end() || im == m->model_ids.end())
      r.fail("merges.txt line ", line_no, " (\"", a, "\", \"", b, "\") uses or makes a token missing from vocab.json");
    const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(ia->second)) << 32) | static_cast<std::uint32_t>(ib->second);
    m->merges[key] = {rank++, im->second};
  }
  m->pre_tokenizers.push_back(PreTokenizerStep::byte_level(true, kWhere));
  if (const auto it = m->model_ids.find("<|endoftext|>"); it != m->model_ids.end()) {
    m->raw_added.add({"<|endoftext|>", it->second, true});
    m->kinds[static_cast<std::size_t>(it->second)] = TokenKind::control;
    m->special[static_cast<std::size_t>(it->second)] = 1;
    m->bos = m->eos = it->second;
  }
  m->finish();
  m->description = name + ": GPT-2 BPE (byte-level), " + std::to_string(m->strings.size()) + " tokens";
  return m;
}

}  // namespace detail

Tokenizer Tokenizer::from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt) {
  return detail::TokenizerImpl::wrap(detail::parse_gpt2_files(read_file(vocab_json), read_file(merges_txt), vocab_json));
}

}  // namespace attend::text
