#pragma once
// Shared by the GGUF reader and writer (src/io/gguf_*.cpp): format constants and error helpers.
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "attend/gguf.h"
#include "core/check.h"

namespace attend::gguf::detail {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

inline constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr std::uint32_t kWriteVersion = 3;
inline constexpr std::uint32_t kDefaultAlignment = 32;
inline constexpr std::uint32_t kMaxDims = 4;                 // ggml's GGML_MAX_DIMS
inline constexpr std::size_t kMaxKeyBytes = 65535;            // the spec's limit on keys
inline constexpr std::size_t kMaxNameBytes = 64;              // the spec's limit on tensor names
inline constexpr std::size_t kMaxWriteNameBytes = 63;         // ggml keeps names NUL-terminated in 64 bytes
inline constexpr int kMaxArrayDepth = 16;                     // arrays of arrays: keeps the recursion shallow
inline constexpr std::uint32_t kMaxWriteAlignment = 1u << 20;  // the writer pads with a buffer this big
inline constexpr std::uint32_t kQuantizationVersion = 2;      // ggml's GGML_QNT_VERSION
inline constexpr const char* kAlignmentKey = "general.alignment";
inline constexpr const char* kQuantVersionKey = "general.quantization_version";

// Fewest bytes one array element of type t occupies in a file (an array: its type and count).
inline std::uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::array: return 12;
    default: return 8;  // u64, i64, f64, string (its length)
  }
}

// A key or name from a file, safe to print: non-printable bytes as \xNN, at most 80 bytes shown.
std::string printable(std::string_view s);

// Throws attend::Error("gguf '<file>': <parts...>").
template <typename... Parts>
[[noreturn]] void bad(const std::string& file, const Parts&... parts) {
  throw Error(attend::detail::concat("gguf '", file, "': ", parts...));
}

}  // namespace attend::gguf::detail
