// Fuzz target: model checkpoints (attend and GPT-2 layouts) through load, forward and generate; see fuzz_inputs.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)attend::fuzz::model_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
