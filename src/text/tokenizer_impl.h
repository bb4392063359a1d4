#pragma once
// What a loaded tokenizer holds (built by the loaders in load_*.cpp, used by tokenizer.cpp).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attend/tokenizer.h"
#include "text/added_tokens.h"
#include "text/pipeline.h"

namespace attend::text::detail {

// Hash of a string key that also finds by string_view (no temporary string per lookup).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIds = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

enum class ModelKind {
  bytes,          // id = byte
  bpe,            // merges by rank of (left, right) pairs: HF BPE, GPT-2, GGUF "gpt2"
  tiktoken,       // merges by rank of the merged bytes
  spm,            // merges by score of the merged piece: SentencePiece BPE (GGUF "llama")
  sentencepiece,  // libsentencepiece encodes
};
enum class DecodeKind {
  raw,         // the vocabulary string is the bytes
  byte_level,  // GPT-2 byte characters
  metaspace,   // "▁" is a space; <0xNN> byte tokens are bytes
};

struct SentencePieceModel;  // libsentencepiece, in load_sentencepiece.cpp
// `first`: the text starts the segment, so it gets the model's dummy prefix ("▁").
void encode_sentencepiece(const SentencePieceModel& m, std::string_view text, bool first, std::vector<std::int32_t>& out);

struct TokenizerImpl {
  std::string description;
  ModelKind model = ModelKind::bpe;

  // id -> token
  std::vector<std::string> strings;  // as the vocabulary writes it
  std::vector<std::string> bytes;    // what it decodes to (filled by finish())
  std::vector<TokenKind> kinds;
  std::vector<char> present;  // 0: an id no token uses
  std::vector<char> special;  // left out by skip_special
  StringIds model_ids;        // the model's vocabulary (not the added tokens)
  StringIds all_ids;          // everything, for find()

  // bpe
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> merges;  // left << 32 | right -> (rank, merged)
  bool byte_fallback = false, ignore_merges = false, fuse_unk = false;
  std::int32_t unk = -1;
  std::array<std::int32_t, 256> byte_ids{};  // the <0xNN> tokens (byte fallback), -1 when missing
  // tiktoken: model_ids maps raw bytes -> rank = id; byte_ids the single bytes
  // spm
  std::vector<float> scores;
  std::vector<char> mergeable;  // normal, user-defined and unused pieces can come out of a merge

  std::shared_ptr<const SentencePieceModel> sentencepiece;

  // text stages
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  AddedTokenMatcher raw_added;         // matched in the text as given
  AddedTokenMatcher normalized_added;  // matched after the normalizers (tokenizer.json "normalized": true)

  std::vector<std::int32_t> prefix, suffix;  // put around the text by add_special
  std::int32_t bos = -1, eos = -1;

  DecodeKind decode = DecodeKind::raw;
  std::string metaspace = "\xe2\x96\x81";  // "▁"
  bool strip_leading_space = false;       // drop the first decoded token's leading space
  // Encode word by word, cut before each "▁" (a space for libsentencepiece): set by finish() when
  // exact (`word_split_allowed` and no token spans a word start); SentencePiece-style text only.
  bool word_split_allowed = true;
  bool word_split = false;

  // Sizes the per-id tables to `n` ids (absent, normal).
  void resize(std::size_t n);
  // Records token `id`; `model_vocab`: part of the model's vocabulary (else an added token only).
  void set_token(std::int32_t id, const std::string& s, TokenKind kind, bool model_vocab, const std::string& where);
  // Fills the byte fallback table and the decoded bytes of every token.
  void finish();

  static Tokenizer wrap(std::shared_ptr<const TokenizerImpl> impl) { return Tokenizer(std::move(impl)); }
};

// Loaders over bytes in memory (`name` appears in messages). The public from_* read the files.
std::shared_ptr<TokenizerImpl> parse_hf_json(std::string_view json, std::string_view config_json, const std::string& name);
std::shared_ptr<TokenizerImpl> parse_gpt2_files(std::string_view vocab_json, std::string_view merges_txt, const std::string& name);
std::shared_ptr<TokenizerImpl> parse_sentencepiece(std::string_view model_bytes, const std::string& name);
std::shared_ptr<TokenizerImpl> parse_tiktoken(std::string_view ranks, const TiktokenSpec& spec, const std::string& name);
std::shared_ptr<TokenizerImpl> build_from_vocab(const VocabSpec& spec, const std::string& name);

// The byte of a "<0xNN>" token, or -1.
int byte_token_value(std::string_view s);

// Encoding of one pre-token word by the model (bpe / tiktoken / spm).
void encode_word(const TokenizerImpl& m, std::string_view word, std::vector<std::int32_t>& out);

// The split patterns llama.cpp applies for a tokenizer.ggml.pre name, one after another; sets
// `ignore_merges` / `add_bos` to its defaults for that name. Throws for an unknown name.
std::vector<std::string> gguf_pre_patterns(std::string_view pre, bool& ignore_merges, bool& add_bos, bool& nfc);

// Bounds that keep a malformed file from asking for unbounded memory.
inline constexpr std::int64_t kMaxVocab = 1 << 24;

}  // namespace attend::text::detail
