// Fuzz target: Hugging Face config.json through the architecture reader; see fuzz_inputs.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)attend::fuzz::hf_config_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
