#pragma once
// Text <-> token ids for a model, behind one member (Model::Impl::codec): the byte/task codec for
// attend's own models (byte-level for vocabularies of 256 or more, letters a.. and '|' for the small
// task vocabularies) and a text::Tokenizer for checkpoints that ship one (a Hugging Face folder's
// tokenizer files, a GGUF file's tokenizer.ggml.* keys). A checkpoint without tokenizer files keeps
// the byte codec (byte b is token b; ids above 255 print as "<id>").
#include <cstdint>
#include <memory>
#include "attend/span.h"
#include <string>
#include <string_view>
#include <vector>

#include "attend/tokenizer.h"

namespace attend::nn {

class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual std::vector<std::int32_t> encode(std::string_view text, bool add_special) const = 0;  // add_special: BOS if configured
  virtual std::string decode_token(std::int32_t token) const = 0;  // the bytes one token stands for
  // ids -> text (a tokenizer applies its own rules: SentencePiece's leading space, byte fallback)
  virtual std::string decode(Span<const std::int32_t> ids) const {
    std::string out;
    for (std::int32_t t : ids) out += decode_token(t);
    return out;
  }
  virtual std::int32_t eos() const { return -1; }  // end-of-sequence token, -1: none
  virtual std::string description() const = 0;
};

// bytes_only: every byte b is token b (a loaded checkpoint, whatever its vocabulary size); else the
// task letters for vocabularies under 256.
std::shared_ptr<const TokenCodec> byte_codec(std::int64_t vocab, bool bytes_only = false);

// A tokenizer as the codec of a model with `vocab` ids; refuses (naming `where`) a tokenizer with
// more ids than the model has rows (a smaller one is fine: vocabularies are padded).
std::shared_ptr<const TokenCodec> tokenizer_codec(text::Tokenizer tokenizer, std::int64_t vocab, const std::string& where);

// The tokenizer files beside a Hugging Face checkpoint (tokenizer.json, vocab.json + merges.txt,
// tokenizer.model) as a codec, or nullptr when the folder has none of them.
std::shared_ptr<const TokenCodec> folder_tokenizer_codec(const std::string& dir, std::int64_t vocab);

}  // namespace attend::nn
