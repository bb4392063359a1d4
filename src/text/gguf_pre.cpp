// tokenizer.ggml.pre names -> the split patterns llama.cpp applies (src/llama-vocab.cpp), one after
// another, plus its per-name defaults (ignore_merges, add_bos). Patterns are the ones in the
// models' tokenizer.json; llama.cpp drops the final "|\s+" of the GPT-2 pattern, which changes
// nothing because text no pattern matches is kept as its own piece.
#include <initializer_list>

#include "text/check.h"
#include "text/pipeline.h"
#include "text/tokenizer_impl.h"

namespace attend::text::detail {
namespace {

bool any_of(std::string_view s, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (s == n) return true;
  return false;
}

constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kTekken =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

}  // namespace

std::vector<std::string> gguf_pre_patterns(std::string_view pre, bool& ignore_merges, bool& add_bos, bool& nfc) {
  ignore_merges = add_bos = nfc = false;
  if (pre.empty() || pre == "default")
    return {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2Pattern, "\\p{N}+", "[0-9][0-9][0-9]"};
  if (any_of(pre, {"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "gigachat", "jina-es",
                   "jina-de", "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-code", "roberta-bpe", "a.x-4.0", "mellum"}))
    return {kGpt2Pattern};
  if (any_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"})) {
    ignore_merges = add_bos = true;
    return {kLlama3};
  }
  if (any_of(pre, {"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"})) return {kLlama3};
  if (any_of(pre, {"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "kormo", "hunyuan"})) {
    nfc = pre == "qwen2" || pre == "deepseek-r1-qwen";  // Qwen2's tokenizer.json normalizer is NFC (llama.cpp skips it)
    return {kQwen2};
  }
  if (any_of(pre, {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"})) return {"\\p{N}", kGpt2Pattern};
  if (any_of(pre, {"gpt-4o", "llama4", "minimax-m2"})) return {tiktoken_pattern("o200k_base")};
  if (pre == "tekken") {
    ignore_merges = add_bos = true;
    return {kTekken};
  }
  detail::fail("Tokenizer::from_vocab", "tokenizer.ggml.pre '", pre,
               "' is not one this tokenizer knows (default, gpt-2, llama-bpe, qwen2, smollm, starcoder, gpt-4o, tekken, ...)");
}

}  // namespace attend::text::detail
