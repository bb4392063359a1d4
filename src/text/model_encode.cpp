// The models' encoding of one pre-token word: BPE by pair rank (Hugging Face BPE, GPT-2, GGUF
// "gpt2"), tiktoken by merged-bytes rank, SentencePiece BPE by piece score (GGUF "llama").
#include <cstdio>
#include <optional>
#include <unordered_map>

#include "text/check.h"
#include "text/merge.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace attend::text::detail {
namespace {

std::string char_name(std::string_view c) {
  std::size_t i = 0;
  const std::uint32_t cp = next_char(c, i);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", cp);
  return buf;
}

// The byte tokens of `bytes`, or false when one is missing.
bool push_bytes(const TokenizerImpl& m, std::string_view bytes, std::uint32_t start, std::vector<Symbol>* symbols,
                std::vector<std::int32_t>* out) {
  for (char c : bytes)
    if (m.byte_ids[static_cast<unsigned char>(c)] < 0) return false;
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    const std::int32_t id = m.byte_ids[static_cast<unsigned char>(bytes[k])];
    if (symbols) symbols->push_back({id, start + static_cast<std::uint32_t>(k), 1});
    if (out) out->push_back(id);
  }
  return true;
}

// Hugging Face BPE::merge_word: characters (or their byte tokens, or <unk>), merged by rank.
void encode_bpe(const TokenizerImpl& m, std::string_view word, std::vector<std::int32_t>& out) {
  if (m.ignore_merges)
    if (const auto it = m.model_ids.find(word); it != m.model_ids.end()) {
      out.push_back(it->second);
      return;
    }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  std::optional<Symbol> unk;
  for (std::size_t i = 0; i < word.size();) {
    const std::size_t n = char_len(static_cast<unsigned char>(word[i]));
    const std::string_view c = word.substr(i, n);
    const auto start = static_cast<std::uint32_t>(i);
    i += n;
    if (const auto it = m.model_ids.find(c); it != m.model_ids.end()) {
      if (unk) symbols.push_back(*unk), unk.reset();
      symbols.push_back({it->second, start, static_cast<std::uint32_t>(n)});
      continue;
    }
    // (HF pushes the byte tokens without flushing a pending <unk> first; so do we)
    if (m.byte_fallback && push_bytes(m, c, start, &symbols, nullptr)) continue;
    if (m.unk < 0) detail::fail("Tokenizer::encode", "character ", char_name(c), " has no token, no byte token and there is no unknown token");
    if (unk && m.fuse_unk) {
      unk->len += static_cast<std::uint32_t>(n);
    } else {
      if (unk) symbols.push_back(*unk);
      unk = Symbol{m.unk, start, static_cast<std::uint32_t>(n)};
    }
  }
  if (unk) symbols.push_back(*unk);
  merge_symbols(symbols, [&](const Symbol& l, const Symbol& r) -> std::optional<MergeOption> {
    const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(l.id)) << 32) | static_cast<std::uint32_t>(r.id);
    const auto it = m.merges.find(key);
    if (it == m.merges.end()) return std::nullopt;
    return MergeOption{static_cast<double>(it->second.first), it->second.second};
  });
  for (std::size_t i = 0;; i = static_cast<std::size_t>(symbols[i].next)) {
    out.push_back(symbols[i].id);
    if (symbols[i].next < 0) break;
  }
}

// tiktoken: bytes merged while the merged bytes have a rank (= id), the lowest first.
void encode_tiktoken(const TokenizerImpl& m, std::string_view word, std::vector<std::int32_t>& out) {
  if (const auto it = m.model_ids.find(word); it != m.model_ids.end()) {
    out.push_back(it->second);
    return;
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  push_bytes(m, word, 0, &symbols, nullptr);  // every byte has a token (checked at load)
  merge_symbols(symbols, [&](const Symbol& l, const Symbol& r) -> std::optional<MergeOption> {
    const auto it = m.model_ids.find(word.substr(l.start, l.len + r.len));
    if (it == m.model_ids.end()) return std::nullopt;
    return MergeOption{static_cast<double>(it->second), it->second};
  });
  for (std::size_t i = 0;; i = static_cast<std::size_t>(symbols[i].next)) {
    out.push_back(symbols[i].id);
    if (symbols[i].next < 0) break;
  }
}

// SentencePiece's bpe::Model::Encode: characters merged while the merged piece is in the
// vocabulary, the highest score first; unused pieces split back into what formed them; characters
// with no piece become byte tokens (byte fallback) or <unk>.
void encode_spm(const TokenizerImpl& m, std::string_view text, std::vector<std::int32_t>& out) {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = char_len(static_cast<unsigned char>(text[i]));
    symbols.push_back({-1, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(n)});
    i += n;
  }
  if (symbols.empty()) return;
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  merge_symbols(symbols, [&](const Symbol& l, const Symbol& r) -> std::optional<MergeOption> {
    const std::string_view piece = text.substr(l.start, l.len + r.len);
    const auto it = m.model_ids.find(piece);
    if (it == m.model_ids.end() || !m.mergeable[static_cast<std::size_t>(it->second)]) return std::nullopt;
    if (m.kinds[static_cast<std::size_t>(it->second)] == TokenKind::unused)
      rev_merge[piece] = {text.substr(l.start, l.len), text.substr(r.start, r.len)};
    return MergeOption{-static_cast<double>(m.scores[static_cast<std::size_t>(it->second)]), it->second};
  });
  auto emit = [&](auto& self, std::string_view piece) -> void {
    const auto it = m.model_ids.find(piece);
    if (it != m.model_ids.end() && m.mergeable[static_cast<std::size_t>(it->second)]) {
      if (m.kinds[static_cast<std::size_t>(it->second)] == TokenKind::unused)
        if (const auto r = rev_merge.find(piece); r != rev_merge.end()) {
          self(self, r->second.first);
          self(self, r->second.second);
          return;
        }
      out.push_back(it->second);
      return;
    }
    if (m.byte_fallback && push_bytes(m, piece, 0, nullptr, &out)) return;
    if (m.unk < 0) detail::fail("Tokenizer::encode", "character ", char_name(piece), " has no piece, no byte token and there is no unknown token");
    out.push_back(m.unk);
  };
  for (std::size_t i = 0;; i = static_cast<std::size_t>(symbols[i].next)) {
    emit(emit, text.substr(symbols[i].start, symbols[i].len));
    if (symbols[i].next < 0) break;
  }
}

}  // namespace

void encode_word(const TokenizerImpl& m, std::string_view word, std::vector<std::int32_t>& out) {
  if (word.empty()) return;
  switch (m.model) {
    case ModelKind::bpe: encode_bpe(m, word, out); return;
    case ModelKind::tiktoken: encode_tiktoken(m, word, out); return;
    case ModelKind::spm: encode_spm(m, word, out); return;
    default: ATTEND_ASSERT(false);
  }
}

}  // namespace attend::text::detail
