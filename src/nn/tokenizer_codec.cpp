// The codec of a checkpoint that ships a tokenizer: text::Tokenizer behind TokenCodec.
#include <filesystem>

#include "core/check.h"
#include "nn/token_codec.h"

namespace attend::nn {
namespace {

class TokenizerCodec final : public TokenCodec {
 public:
  explicit TokenizerCodec(text::Tokenizer t) : tok_(std::move(t)) {}
  // add_special: BOS where the tokenizer's configuration asks for it (Llama, Mistral), as the
  // reference implementations encode a prompt for raw completion.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override { return tok_.encode(text, {add_special}); }
  std::string decode_token(std::int32_t token) const override { return tok_.token_bytes(token); }
  std::string decode(Span<const std::int32_t> ids) const override { return tok_.decode(ids); }
  std::int32_t eos() const override { return tok_.eos(); }
  std::string description() const override { return tok_.description(); }

 private:
  text::Tokenizer tok_;
};

}  // namespace

std::shared_ptr<const TokenCodec> tokenizer_codec(text::Tokenizer tokenizer, std::int64_t vocab, const std::string& where) {
  if (tokenizer.size() > vocab)
    detail::fail("Model::load", where, ": the tokenizer (", tokenizer.description(), ") has ", tokenizer.size(),
                 " ids but the model's embedding has only ", vocab, " rows");
  return std::make_shared<TokenizerCodec>(std::move(tokenizer));
}

std::shared_ptr<const TokenCodec> folder_tokenizer_codec(const std::string& dir, std::int64_t vocab) {
  namespace fs = std::filesystem;
  const fs::path d(dir.empty() ? "." : dir);
  std::error_code ec;
  const bool any = fs::exists(d / "tokenizer.json", ec) || (fs::exists(d / "vocab.json", ec) && fs::exists(d / "merges.txt", ec)) ||
                   fs::exists(d / "tokenizer.model", ec);
  if (!any) return nullptr;
  return tokenizer_codec(text::Tokenizer::from_directory(d.string()), vocab, dir);
}

}  // namespace attend::nn
