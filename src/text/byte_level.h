#pragma once
// GPT-2's byte <-> character map: every byte is written as one printable character so that BPE
// vocabularies are text ("Ġ" is the space byte 0x20, "Ċ" the newline 0x0A).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace attend::text::detail {

// The UTF-8 of the character standing for each byte.
const std::array<std::string, 256>& byte_chars();
// The byte a character stands for, or -1.
int char_byte(std::uint32_t cp);
// bytes -> mapped text
void append_byte_level(std::string& out, std::string_view bytes);
// mapped text (valid UTF-8) -> bytes; false when a character is not in the map.
bool byte_level_to_bytes(std::string_view mapped, std::string& out);

}  // namespace attend::text::detail
