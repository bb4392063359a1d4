#pragma once
// UTF-8 helpers of the tokenizers: repair, walk, encode, escape for display, White_Space.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace attend::text::detail {

inline constexpr std::uint32_t kReplacement = 0xFFFD;

// Replaces each maximal ill-formed subpart with U+FFFD (the WHATWG decoder's policy, also Python's
// errors="replace" and ICU's); valid text comes back unchanged.
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);

// Length of the character starting at s[i] in VALID UTF-8 text.
inline std::size_t char_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
// Decodes the character at s[i] of valid UTF-8 and advances i.
std::uint32_t next_char(std::string_view s, std::size_t& i);
// Start of the character before byte position i (> 0) of valid UTF-8.
std::size_t prev_char_start(std::string_view s, std::size_t i);
void append_utf8(std::string& out, std::uint32_t cp);

// Unicode White_Space (what Rust's char::is_whitespace, Oniguruma's and Python's \s accept).
bool is_white_space(std::uint32_t cp);

// Valid UTF-8 for a label: well-formed characters kept, control characters as \n \t \r \xNN,
// bytes of ill-formed sequences as \xNN.
std::string escape_for_display(std::string_view bytes);

}  // namespace attend::text::detail
