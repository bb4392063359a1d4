// A tokenizer from a GGUF file's tokenizer.ggml.* keys (VocabSpec): "gpt2" = byte-level BPE with
// merges and the pre-tokenizer named by tokenizer.ggml.pre; "llama" = SentencePiece BPE over piece
// scores with <0xNN> byte fallback, as llama.cpp's llm_tokenizer_spm and libsentencepiece do.
#include <algorithm>

#include "text/check.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace attend::text {
namespace detail {
namespace {

constexpr const char* kWhere = "Tokenizer::from_vocab";

TokenKind kind_of(std::int32_t type, std::size_t id, const std::string& name) {
  switch (type) {
    case 1: return TokenKind::normal;
    case 2: return TokenKind::unknown;
    case 3: return TokenKind::control;
    case 4: return TokenKind::user_defined;
    case 5: return TokenKind::unused;
    case 6: return TokenKind::byte;
    case 0: return TokenKind::normal;  // "undefined": llama.cpp treats it as an ordinary token
    default: detail::fail(kWhere, name, ": token ", id, " has token_type ", type, " (1 to 6 expected)");
  }
}

}  // namespace

std::shared_ptr<TokenizerImpl> build_from_vocab(const VocabSpec& spec, const std::string& name) {
  auto fail = [&](const auto&... parts) { detail::fail(kWhere, name, ": ", parts...); };
  const bool bpe = spec.model == "gpt2";
  if (!bpe && spec.model != "llama") fail("tokenizer.ggml.model '", spec.model, "' is not supported (gpt2, llama)");
  const std::size_t n = spec.tokens.size();
  if (n == 0 || static_cast<std::int64_t>(n) >= kMaxVocab) fail(n, " tokens");
  if (!spec.token_types.empty() && spec.token_types.size() != n) fail(spec.token_types.size(), " token types for ", n, " tokens");
  if (!bpe && spec.scores.size() != n) fail(spec.scores.size(), " scores for ", n, " tokens");
  if (!spec.scores.empty() && spec.scores.size() != n) fail(spec.scores.size(), " scores for ", n, " tokens");
  for (const std::int32_t id : {spec.bos, spec.eos, spec.unk, spec.pad})
    if (id < -1 || id >= static_cast<std::int32_t>(n)) fail("special token id ", id, " is outside the ", n, " tokens");

  auto m = std::make_shared<TokenizerImpl>();
  m->model = bpe ? ModelKind::bpe : ModelKind::spm;
  m->resize(n);
  m->scores = spec.scores;
  m->mergeable.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    // llama.cpp names empty tokens "[EMPTY_<id>]"
    const std::string s = spec.tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : spec.tokens[i];
    const TokenKind kind = spec.token_types.empty() ? TokenKind::normal : kind_of(spec.token_types[i], i, name);
    if (m->model_ids.count(s)) fail("token ", i, " '", s, "' repeats token ", m->model_ids.find(s)->second);
    m->set_token(static_cast<std::int32_t>(i), s, kind, true, kWhere);
    m->mergeable[i] = kind == TokenKind::normal || kind == TokenKind::user_defined || kind == TokenKind::unused;
    if (kind == TokenKind::control || kind == TokenKind::unknown || kind == TokenKind::user_defined) {
      const bool special = kind != TokenKind::user_defined;  // user-defined tokens always match
      m->special[i] = special;
      if (is_valid_utf8(s)) m->raw_added.add({s, static_cast<std::int32_t>(i), special});  // (ill-formed content could match part of a character)
    }
  }
  bool add_bos = !bpe;
  if (bpe) {
    bool ignore_merges = false, nfc = false;
    const std::vector<std::string> patterns = gguf_pre_patterns(spec.pre, ignore_merges, add_bos, nfc);
    m->ignore_merges = ignore_merges;
    if (nfc) m->normalizers.push_back(NormalizerStep::make(NormalizerStep::Kind::nfc));
    for (const std::string& p : patterns)
      m->pre_tokenizers.push_back(PreTokenizerStep::split_on(p, kWhere));
    m->pre_tokenizers.push_back(PreTokenizerStep::byte_level(false, kWhere));
    m->decode = DecodeKind::byte_level;
    if (spec.merges.empty()) fail("a gpt2 tokenizer needs tokenizer.ggml.merges");
    m->merges.reserve(spec.merges.size());
    for (std::size_t i = 0; i < spec.merges.size(); ++i) {
      const std::string& line = spec.merges[i];
      const std::size_t sp = line.find(' ', 1);  // llama.cpp: a token may start with a space
      if (sp == std::string::npos || sp + 1 >= line.size()) fail("merge ", i, " '", line, "' is not two tokens");
      const std::string a = line.substr(0, sp), b = line.substr(sp + 1);
      const auto ia = m->model_ids.find(a), ib = m->model_ids.find(b), im = m->model_ids.find(a + b);
      if (ia == m->model_ids.end() || ib == m->model_ids.end() || im == m->model_ids.end())
        fail("merge ", i, " ('", a, "', '", b, "') uses or makes a token that is not in the vocabulary");
      const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(ia->second)) << 32) | static_cast<std::uint32_t>(ib->second);
      m->merges.emplace(key, std::pair<std::int32_t, std::int32_t>{static_cast<std::int32_t>(i), im->second});  // the first rank, as llama.cpp's map
    }
  } else {
    if (!spec.pre.empty() && spec.pre != "default") fail("a llama (SentencePiece) tokenizer takes no pre-tokenizer, got '", spec.pre, "'");
    const bool prefix_space = spec.add_space_prefix.value_or(true);
    if (prefix_space) m->normalizers.push_back(NormalizerStep::make(NormalizerStep::Kind::prepend, m->metaspace));
    m->normalizers.push_back(NormalizerStep::make(NormalizerStep::Kind::replace, m->metaspace, Pattern{nullptr, " "}));
    m->decode = DecodeKind::metaspace;
    m->strip_leading_space = prefix_space;
    for (std::size_t i = 0; i < n; ++i)
      if (m->kinds[i] == TokenKind::byte) {
        if (byte_token_value(m->strings[i]) < 0) fail("byte token ", i, " '", m->strings[i], "' is not <0xNN>");
        m->byte_fallback = true;
      }
  }
  m->unk = spec.unk;
  m->bos = spec.bos;
  m->eos = spec.eos;
  if (spec.add_bos.value_or(add_bos)) {
    if (spec.bos < 0) {
      if (spec.add_bos.has_value()) fail("add_bos is set but there is no bos token id");
    } else {
      m->prefix = {spec.bos};
    }
  }
  if (spec.add_eos.value_or(false)) {
    if (spec.eos < 0) fail("add_eos is set but there is no eos token id");
    m->suffix = {spec.eos};
  }
  m->finish();
  m->description = name + (bpe ? ": GGUF gpt2 BPE (byte-level, pre '" + spec.pre + "')" : std::string(": GGUF llama SentencePiece BPE")) + ", " +
                   std::to_string(n) + " tokens";
  return m;
}

}  // namespace detail

Tokenizer Tokenizer::from_vocab(const VocabSpec& spec) { return detail::TokenizerImpl::wrap(detail::build_from_vocab(spec, "VocabSpec")); }

}  // namespace attend::text
