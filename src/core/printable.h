#pragma once
// Text from files and users, made safe to print on a terminal or put in a message: valid UTF-8
// passes through; control characters (C0, DEL, C1), bidirectional overrides, U+FFFE/U+FFFF and
// every byte of invalid UTF-8 become visible escapes (\n, \t, \x1B, \xC3, \u{202E}), so a NUL
// does not cut the text and an escape sequence in a name cannot drive the terminal.
#include <string>
#include <string_view>

namespace attend {

std::string printable(std::string_view text);

}  // namespace attend
