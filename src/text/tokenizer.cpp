// attend::text::Tokenizer: encode (added tokens, normalizers, pre-tokenizers, model, template),
// decode, per-token views (see include/attend/tokenizer.h).
#include "attend/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "text/check.h"
#include "text/byte_level.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace attend::text {
namespace detail {

int byte_token_value(std::string_view s) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>' || hex(s[3]) < 0 || hex(s[4]) < 0) return -1;
  return hex(s[3]) * 16 + hex(s[4]);
}

void TokenizerImpl::resize(std::size_t n) {
  strings.resize(n);
  kinds.resize(n, TokenKind::normal);
  present.resize(n, 0);
  special.resize(n, 0);
}

void TokenizerImpl::set_token(std::int32_t id, const std::string& s, TokenKind kind, bool model_vocab, const std::string& where) {
  if (id < 0 || id >= kMaxVocab) detail::fail(where.c_str(), "token id ", id, " is outside [0, ", kMaxVocab, ")");
  const auto i = static_cast<std::size_t>(id);
  if (i >= strings.size()) resize(i + 1);
  strings[i] = s;
  kinds[i] = kind;
  present[i] = 1;
  if (model_vocab) model_ids[s] = id;
  all_ids[s] = id;
}

void TokenizerImpl::finish() {
  byte_ids.fill(-1);
  if (model == ModelKind::tiktoken) {
    for (int b = 0; b < 256; ++b)
      if (const auto it = model_ids.find(std::string(1, static_cast<char>(b))); it != model_ids.end()) byte_ids[static_cast<std::size_t>(b)] = it->second;
  } else {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const std::string name = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
      if (const auto it = model_ids.find(name); it != model_ids.end()) byte_ids[static_cast<std::size_t>(b)] = it->second;
    }
  }
  // Word splitting is exact when no token has a "▁" that follows another character (a piece that
  // would span a word start); SentencePiece vocabularies split by whitespace have none.
  word_split = false;
  // "▁" must itself be a token, so that a word start is one known symbol (neither byte fallback
  // nor a run of unknown characters that could be fused across it), and no pre-tokenizer other
  // than Metaspace may run.
  const bool only_metaspace = std::all_of(pre_tokenizers.begin(), pre_tokenizers.end(),
                                          [](const PreTokenizerStep& p) { return p.kind == PreTokenizerStep::Kind::metaspace; });
  if ((model == ModelKind::spm || model == ModelKind::sentencepiece || (model == ModelKind::bpe && decode == DecodeKind::metaspace)) &&
      only_metaspace && model_ids.count(metaspace) && word_split_allowed) {
    word_split = true;
    for (std::size_t id = 0; id < strings.size() && word_split; ++id) {
      const std::string& s = strings[id];
      for (std::size_t at = s.find(metaspace, 1); at != std::string::npos; at = s.find(metaspace, at + 1))
        if (at < metaspace.size() || s.compare(at - metaspace.size(), metaspace.size(), metaspace) != 0) {
          word_split = false;
          break;
        }
    }
  }
  bytes.assign(strings.size(), std::string());
  for (std::size_t id = 0; id < strings.size(); ++id) {
    if (!present[id]) continue;
    const std::string& s = strings[id];
    std::string& out = bytes[id];
    const bool added = special[id] || kinds[id] == TokenKind::user_defined || kinds[id] == TokenKind::control;
    if (decode == DecodeKind::byte_level && !added) {
      if (!byte_level_to_bytes(s, out)) out = s;  // not a byte-level string: as written (HF does the same)
    } else if (decode == DecodeKind::metaspace) {
      if (const int b = byte_token_value(s); kinds[id] == TokenKind::byte && b >= 0) {
        out.push_back(static_cast<char>(b));
      } else {
        for (std::size_t at = 0; at < s.size();) {
          if (s.compare(at, metaspace.size(), metaspace) == 0) {
            out.push_back(' ');
            at += metaspace.size();
          } else {
            out.push_back(s[at++]);
          }
        }
      }
    } else {
      out = s;
    }
  }
}

}  // namespace detail

namespace {

using detail::ModelKind;
using detail::TokenizerImpl;

const TokenizerImpl& check_id(const std::shared_ptr<const TokenizerImpl>& m, std::int32_t id, const char* where) {
  if (id < 0 || static_cast<std::size_t>(id) >= m->strings.size() || !m->present[static_cast<std::size_t>(id)])
    detail::fail(where, "token id ", id, " is not in the vocabulary (", m->strings.size(), " ids)");
  return *m;
}

using WordCache = std::unordered_map<std::string, std::vector<std::int32_t>, detail::StringHash, std::equal_to<>>;

void encode_cached(const TokenizerImpl& m, std::string_view word, WordCache& cache, std::vector<std::int32_t>& out) {
  if (word.size() > 256) {  // long words rarely repeat: not worth a cache entry
    detail::encode_word(m, word, out);
    return;
  }
  auto it = cache.find(word);
  if (it == cache.end()) {
    std::vector<std::int32_t> ids;
    detail::encode_word(m, word, ids);
    it = cache.emplace(std::string(word), std::move(ids)).first;
  }
  out.insert(out.end(), it->second.begin(), it->second.end());
}

bool ends_with_at(std::string_view text, std::size_t at, std::string_view s) {
  return !s.empty() && at >= s.size() && text.compare(at - s.size(), s.size(), s) == 0;
}

// Calls fn on the stretches of `text` cut before each `sep` that follows something else (the
// word boundaries of SentencePiece text, where no piece of the vocabulary spans). `same` is
// another spelling of the separator (raw text: a "▁" is a space to SentencePiece).
template <class Fn>
void for_each_word(std::string_view text, std::string_view sep, std::string_view same, Fn&& fn) {
  std::size_t begin = 0;
  for (std::size_t at = text.find(sep, 1); at != std::string_view::npos; at = text.find(sep, at + sep.size())) {
    if (ends_with_at(text, at, sep) || ends_with_at(text, at, same)) continue;  // inside a run of separators
    if (at > begin) fn(text.substr(begin, at - begin), begin == 0);
    begin = at;
  }
  fn(text.substr(begin), begin == 0);
}

// One stretch of text between added tokens: normalizers, added tokens matched after them,
// pre-tokenizers, model.
void encode_text(const TokenizerImpl& m, std::string_view text, bool at_start, bool parse_special, WordCache& cache,
                 std::vector<std::int32_t>& out) {
  if (m.model == ModelKind::sentencepiece) {
    if (!m.word_split) {
      detail::encode_sentencepiece(*m.sentencepiece, text, true, out);
      return;
    }
    // Word by word (exact: no piece spans a word start); the dummy prefix only on the first.
    for_each_word(text, " ", m.metaspace, [&](std::string_view word, bool first) {
      if (first || word.size() > 256) {
        detail::encode_sentencepiece(*m.sentencepiece, word, first, out);
        return;
      }
      auto it = cache.find(word);
      if (it == cache.end()) {
        std::vector<std::int32_t> ids;
        detail::encode_sentencepiece(*m.sentencepiece, word, false, ids);
        it = cache.emplace(std::string(word), std::move(ids)).first;
      }
      out.insert(out.end(), it->second.begin(), it->second.end());
    });
    return;
  }
  const std::string normalized = detail::normalize(m.normalizers, std::string(text));
  std::vector<detail::Segment> parts;
  if (m.normalized_added.empty()) parts.push_back({normalized, -1});
  else m.normalized_added.split(normalized, parse_special, parts);
  std::vector<detail::Piece> pieces;
  for (const detail::Segment& part : parts) {
    if (part.id >= 0) {
      out.push_back(part.id);
      continue;
    }
    pieces.clear();
    pieces.push_back({std::string(part.text), at_start && part.text.data() == normalized.data()});
    detail::pre_tokenize(m.pre_tokenizers, pieces);
    for (const detail::Piece& p : pieces) {
      // Without a pre-tokenizer (SentencePiece) a text is one word: cutting it where no piece can
      // span keeps the merge heaps small and lets words repeat (a 1 MB text: seconds -> a fraction).
      if (m.word_split) for_each_word(p.text, m.metaspace, {}, [&](std::string_view w, bool) { encode_cached(m, w, cache, out); });
      else encode_cached(m, p.text, cache, out);
    }
  }
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer() : Tokenizer(byte_level()) {}

Tokenizer Tokenizer::byte_level() {
  static const std::shared_ptr<const TokenizerImpl> impl = [] {
    auto m = std::make_shared<TokenizerImpl>();
    m->model = ModelKind::bytes;
    m->description = "byte-level: 256 tokens, id = byte";
    m->resize(256);
    for (int b = 0; b < 256; ++b) m->set_token(b, std::string(1, static_cast<char>(b)), TokenKind::byte, true, "byte_level");
    m->finish();
    return m;
  }();
  return Tokenizer(impl);
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const TokenizerImpl& m = *impl_;
  std::vector<std::int32_t> out;
  if (m.model == ModelKind::bytes) {
    out.reserve(text.size());
    for (char c : text) out.push_back(static_cast<unsigned char>(c));
    return out;
  }
  const std::string clean = detail::sanitize_utf8(text);
  if (options.add_special) out = m.prefix;
  std::vector<detail::Segment> segments;
  if (m.raw_added.empty()) segments.push_back({clean, -1});
  else m.raw_added.split(clean, options.parse_special, segments);
  WordCache cache;  // per call: no state shared between threads
  for (const detail::Segment& s : segments) {
    if (s.id >= 0) out.push_back(s.id);
    else if (!s.text.empty()) encode_text(m, s.text, s.text.data() == clean.data(), options.parse_special, cache, out);
  }
  if (options.add_special) out.insert(out.end(), m.suffix.begin(), m.suffix.end());
  return out;
}

std::string Tokenizer::decode(Span<const std::int32_t> ids, const DecodeOptions& options) const {
  std::string out;
  bool first = true;
  for (const std::int32_t id : ids) {
    const TokenizerImpl& m = check_id(impl_, id, "Tokenizer::decode");
    const auto i = static_cast<std::size_t>(id);
    if (options.skip_special && m.special[i]) continue;
    const std::string& b = m.bytes[i];
    out += first && m.strip_leading_space && !b.empty() && b[0] == ' ' ? std::string_view(b).substr(1) : std::string_view(b);
    first = false;
  }
  return out;
}

std::string Tokenizer::token_bytes(std::int32_t id) const { return check_id(impl_, id, "Tokenizer::token_bytes").bytes[static_cast<std::size_t>(id)]; }

std::string Tokenizer::piece(std::int32_t id) const {
  return detail::escape_for_display(check_id(impl_, id, "Tokenizer::piece").bytes[static_cast<std::size_t>(id)]);
}

const std::string& Tokenizer::vocab_string(std::int32_t id) const {
  return check_id(impl_, id, "Tokenizer::vocab_string").strings[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::find(std::string_view s) const {
  const auto it = impl_->all_ids.find(s);
  return it == impl_->all_ids.end() ? -1 : it->second;
}

TokenKind Tokenizer::kind(std::int32_t id) const { return check_id(impl_, id, "Tokenizer::kind").kinds[static_cast<std::size_t>(id)]; }

std::int64_t Tokenizer::size() const { return static_cast<std::int64_t>(impl_->strings.size()); }
std::int32_t Tokenizer::bos() const { return impl_->bos; }
std::int32_t Tokenizer::eos() const { return impl_->eos; }
bool Tokenizer::adds_bos() const { return impl_->bos >= 0 && !impl_->prefix.empty() && impl_->prefix.front() == impl_->bos; }
const std::string& Tokenizer::description() const { return impl_->description; }

Tokenizer Tokenizer::from_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  if (!fs::is_directory(d)) detail::fail("Tokenizer::from_directory", "'", dir, "' is not a directory");
  if (fs::exists(d / "tokenizer.json")) {
    const fs::path config = d / "tokenizer_config.json";
    return from_hf_json((d / "tokenizer.json").string(), fs::exists(config) ? config.string() : std::string());
  }
  if (fs::exists(d / "vocab.json") && fs::exists(d / "merges.txt"))
    return from_gpt2_files((d / "vocab.json").string(), (d / "merges.txt").string());
  if (fs::exists(d / "tokenizer.model")) return from_sentencepiece((d / "tokenizer.model").string());
  detail::fail("Tokenizer::from_directory", "'", dir, "' has no tokenizer.json, vocab.json + merges.txt or tokenizer.model");
}

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) return from_directory(path);
  const fs::path p(path);
  if (p.extension() == ".json") {
    const fs::path config = p.parent_path() / "tokenizer_config.json";
    return from_hf_json(path, fs::exists(config) ? config.string() : std::string());
  }
  if (p.extension() == ".model") return from_sentencepiece(path);
  if (p.extension() == ".gguf") return from_gguf(path);
  if (!fs::exists(p)) detail::fail("Tokenizer::load", "'", path, "' does not exist");
  detail::fail("Tokenizer::load", "'", path, "' is neither a directory, a tokenizer.json (*.json) a SentencePiece model (*.model) nor a GGUF file (*.gguf)");
}

}  // namespace attend::text
