#pragma once
// Text <-> token ids for a model, behind one member (Model::Impl::codec) so a real tokenizer can
// replace it. Until text::Tokenizer lands (src/text: text::Tokenizer::from_directory(dir)), every
// model uses the byte/task codec: byte-level for vocabularies of 256 or more and for loaded
// checkpoints (ids above 255 print as "<id>"), letters a.. and '|' for the small task vocabularies.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attend::nn {

class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode_token(std::int32_t token) const = 0;  // the bytes one token stands for
};

// bytes_only: every byte b is token b (a loaded checkpoint, whatever its vocabulary size); else the
// task letters for vocabularies under 256.
std::shared_ptr<const TokenCodec> byte_codec(std::int64_t vocab, bool bytes_only = false);

}  // namespace attend::nn
