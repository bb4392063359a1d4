// A GGUF file's tokenizer.ggml.* keys as a VocabSpec (llama.cpp's names), and the tokenizer they make.
#include "attend/gguf.h"
#include "attend/tokenizer.h"
#include "core/check.h"

namespace attend::text {

std::optional<VocabSpec> gguf_vocab_spec(const gguf::File& f) {
  if (!f.has("tokenizer.ggml.model")) return std::nullopt;
  VocabSpec v;
  v.model = f.get_string("tokenizer.ggml.model");
  v.pre = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  v.tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
  if (f.has("tokenizer.ggml.scores")) v.scores = f.get_array<float>("tokenizer.ggml.scores");
  if (f.has("tokenizer.ggml.token_type")) v.token_types = f.get_array<std::int32_t>("tokenizer.ggml.token_type");
  if (f.has("tokenizer.ggml.merges")) v.merges = f.get_array<std::string>("tokenizer.ggml.merges");
  auto id = [&](const char* key, std::int32_t& out) {
    if (f.has(key)) out = f.get_i32(key);
  };
  id("tokenizer.ggml.bos_token_id", v.bos);
  id("tokenizer.ggml.eos_token_id", v.eos);
  id("tokenizer.ggml.unknown_token_id", v.unk);
  id("tokenizer.ggml.padding_token_id", v.pad);
  if (f.has("tokenizer.ggml.add_bos_token")) v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token");
  if (f.has("tokenizer.ggml.add_eos_token")) v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token");
  if (f.has("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix");
  return v;
}

Tokenizer Tokenizer::from_gguf(const std::string& path) {
  const gguf::File f = gguf::File::open(path);  // mapped: only the header's pages are read
  const std::optional<VocabSpec> spec = gguf_vocab_spec(f);
  if (!spec) attend::detail::fail("Tokenizer::from_gguf", path, ": no tokenizer.ggml.model key (the file carries no tokenizer)");
  return from_vocab(*spec);
}

}  // namespace attend::text
