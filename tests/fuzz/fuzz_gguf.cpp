// Fuzz target: the GGUF reader (header, metadata of every type, tensor infos, layout checks), the
// block dequantizers on the tensors it accepts, and the writer round trip; see fuzz_inputs.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)attend::fuzz::gguf_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
