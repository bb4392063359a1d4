// Fuzz target: the .npy parser must accept or throw attend::Error, never crash or over-read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attend/error.h"
#include "attend/io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const attend::Tensor t = attend::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)attend::npy_bytes(t.view());  // a parsed array must serialise again
  } catch (const attend::Error&) {
  }
  return 0;
}
