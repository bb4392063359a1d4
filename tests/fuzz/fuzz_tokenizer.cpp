// Fuzz target: the tokenizer file parsers (tokenizer.json, vocab.json + merges.txt,
// tokenizer.model, tiktoken ranks, GGUF VocabSpec) and encoding with what they accept; see
// fuzz_inputs.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)attend::fuzz::tokenizer_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
