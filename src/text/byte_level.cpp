// GPT-2's bytes_to_unicode map (see byte_level.h): printable Latin-1 bytes stand for themselves,
// the other 68 bytes for U+0100 + n in byte order.
#include "text/byte_level.h"

#include "text/utf8.h"

namespace attend::text::detail {
namespace {

bool stands_for_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
  std::array<std::string, 256> chars;
  std::array<int, 0x200> byte_of{};  // code points < 0x200 cover the whole map
  Tables() {
    byte_of.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const std::uint32_t cp = stands_for_itself(b) ? static_cast<std::uint32_t>(b) : 0x100u + static_cast<std::uint32_t>(n++);
      append_utf8(chars[static_cast<std::size_t>(b)], cp);
      byte_of[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_chars() { return tables().chars; }

int char_byte(std::uint32_t cp) { return cp < 0x200 ? tables().byte_of[cp] : -1; }

void append_byte_level(std::string& out, std::string_view bytes) {
  const auto& chars = tables().chars;
  for (char c : bytes) out += chars[static_cast<unsigned char>(c)];
}

bool byte_level_to_bytes(std::string_view mapped, std::string& out) {
  if (!is_valid_utf8(mapped)) return false;
  for (std::size_t i = 0; i < mapped.size();) {
    const int b = char_byte(next_char(mapped, i));
    if (b < 0) return false;
    out.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace attend::text::detail
