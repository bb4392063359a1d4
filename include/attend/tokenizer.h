#pragma once
// Tokenizers: text <-> token ids for the checkpoints attend runs (GPT-2, Llama 2/3, Mistral,
// TinyLlama, Qwen2, SmolLM2, ...), id for id what the reference implementations produce, offline.
//
// Sources: a Hugging Face tokenizer.json (+ tokenizer_config.json beside it), GPT-2's vocab.json +
// merges.txt, a SentencePiece tokenizer.model (encoded by libsentencepiece), a tiktoken rank file,
// or a VocabSpec filled from a GGUF file's tokenizer.ggml.* keys. Tokenizer::byte_level() is the
// 256-id byte tokenizer attend's own checkpoints use.
//
// Contract:
// - Immutable once built; every const member may be called from many threads at once (no shared
//   mutable state, caches are per call). Copies share the loaded vocabulary.
// - Text in is any bytes. Invalid UTF-8 is replaced by U+FFFD before tokenizing, one per maximal
//   ill-formed subpart (WHATWG TextDecoder, Python's errors="replace"), which is what the
//   references see when handed such bytes. byte_level() keeps raw bytes.
// - Work and memory are O(n log n) / O(n) in the input size (merges run on a heap over a linked
//   list; pre-token words are cached per call).
// - Bad files and bad ids throw attend::Error naming the file (or function) and the problem.
#include <cstdint>
#include <memory>
#include <optional>
#include "attend/span.h"
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attend::gguf {
class File;  // attend/gguf.h
}

namespace attend::text {

struct EncodeOptions {
  // Put around the text the tokens the tokenizer's configuration asks for: BOS for Llama 2/3,
  // Mistral, TinyLlama (tokenizer_config.json add_bos_token / add_eos_token, else the
  // post_processor template; GGUF tokenizer.ggml.add_bos_token, else llama.cpp's default for the
  // model). false: the text's tokens only.
  bool add_special = true;
  // Match special (control) tokens such as "<|begin_of_text|>" or "</s>" written in the text as
  // whole tokens. false: they are ordinary text. Non-special added tokens (tokenizer.json
  // "special": false, GGUF USER_DEFINED) always match, as in the references.
  bool parse_special = false;
};

struct DecodeOptions {
  bool skip_special = false;  // leave out special tokens (BOS, EOS, <|eot_id|>, ...)
};

// A tokenizer as a GGUF file carries it (tokenizer.ggml.* keys); the GGUF reader fills it.
struct VocabSpec {
  std::string model;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) | "llama" (SentencePiece BPE)
  std::string pre;    // tokenizer.ggml.pre: "gpt-2", "llama-bpe", "qwen2", "smollm", "default", ...
  std::vector<std::string> tokens;        // tokenizer.ggml.tokens
  std::vector<float> scores;              // tokenizer.ggml.scores ("llama": required)
  std::vector<std::int32_t> token_types;  // tokenizer.ggml.token_type: 1 normal, 2 unknown,
                                          // 3 control, 4 user-defined, 5 unused, 6 byte
  std::vector<std::string> merges;        // tokenizer.ggml.merges, "a b" ("gpt2": required)
  std::int32_t bos = -1, eos = -1, unk = -1, pad = -1;  // tokenizer.ggml.*_token_id
  // Present only when the file has the key; absent means llama.cpp's default for model/pre
  // (add_bos: "llama" and the Llama-3 pre-tokenizers yes; add_space_prefix: "llama" yes).
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

// How a rank file (tiktoken) is tokenized: its split pattern and special tokens.
struct TiktokenSpec {
  std::string pattern;  // a regex, e.g. tiktoken_pattern("cl100k_base")
  std::vector<std::pair<std::string, std::int32_t>> special_tokens;
  std::int32_t bos = -1, eos = -1;
  bool add_bos = false;
};

// The tokenizer.ggml.* keys of a GGUF file as a VocabSpec; nullopt when it has no
// tokenizer.ggml.model key. Keys of the wrong type throw attend::Error naming the key.
std::optional<VocabSpec> gguf_vocab_spec(const gguf::File& file);

// The split patterns of the tiktoken encodings "gpt2", "r50k_base", "p50k_base", "cl100k_base",
// "o200k_base" (as tiktoken defines them). Throws attend::Error for another name.
std::string tiktoken_pattern(std::string_view encoding);

enum class TokenKind : std::uint8_t { normal, byte, control, user_defined, unknown, unused };

namespace detail {
struct TokenizerImpl;
}

class Tokenizer {
 public:
  // The 256-id byte tokenizer: id = byte value (attend's own checkpoints).
  static Tokenizer byte_level();
  Tokenizer();  // byte_level()
  // The tokenizer beside a model: tokenizer.json (with tokenizer_config.json when present), else
  // vocab.json + merges.txt, else tokenizer.model.
  static Tokenizer from_directory(const std::string& dir);
  // A directory (as above) or one file: *.json (tokenizer.json), *.model (SentencePiece), *.gguf.
  static Tokenizer load(const std::string& path);
  // A GGUF file's tokenizer.ggml.* keys (gguf_vocab_spec, then from_vocab).
  static Tokenizer from_gguf(const std::string& path);
  // tokenizer.json; `config_path` ("" = none) is a tokenizer_config.json.
  static Tokenizer from_hf_json(const std::string& tokenizer_json, const std::string& config_path = "");
  static Tokenizer from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt);
  static Tokenizer from_sentencepiece(const std::string& model_path);
  static Tokenizer from_tiktoken(const std::string& path, const TiktokenSpec& spec);
  static Tokenizer from_vocab(const VocabSpec& spec);

  // text (bytes) -> ids
  std::vector<std::int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // ids -> bytes (not necessarily valid UTF-8 when the ids cut a character). Byte-level tokens map
  // back to their bytes, SentencePiece "▁" to a space and <0xNN> to the byte; the space the encoder
  // put before the text is dropped from the first token decoded, as libsentencepiece does.
  std::string decode(Span<const std::int32_t> ids, const DecodeOptions& options = {}) const;
  // The bytes one token stands for (no leading-space rule); for streaming output.
  std::string token_bytes(std::int32_t id) const;
  // A label for one token, always valid UTF-8: token_bytes with invalid bytes and control
  // characters escaped (\n, \t, \r, \xNN).
  std::string piece(std::int32_t id) const;
  // The token as its vocabulary writes it ("Ġthe", "▁the", "<0x0A>", "<|eot_id|>").
  const std::string& vocab_string(std::int32_t id) const;
  // The id of a vocabulary string (model vocabulary or added token), or -1.
  std::int32_t find(std::string_view vocab_string) const;
  TokenKind kind(std::int32_t id) const;

  std::int64_t size() const;  // ids are [0, size)
  std::int32_t bos() const;   // -1 when the tokenizer has none
  std::int32_t eos() const;
  bool adds_bos() const;      // encode() with add_special puts bos() first
  const std::string& description() const;  // e.g. "tokenizer.json: BPE (byte-level), 128256 tokens"

 private:
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl);
  std::shared_ptr<const detail::TokenizerImpl> impl_;
  friend struct detail::TokenizerImpl;
};

}  // namespace attend::text
