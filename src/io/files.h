#pragma once
// Opening files to read: regular files only. A directory, FIFO, device (/dev/zero) or socket is
// refused by name before a byte is read, so no reader can block on a FIFO or read forever.
#include <cstdint>
#include <string>

namespace attend::io {

// Opens `path` for reading (O_NONBLOCK, so a FIFO swapped in after the check cannot block) and
// returns the descriptor; `size` receives the file's size. Throws attend::Error naming `where`,
// the path and what it is when it is not a regular file.
int open_regular_file(const std::string& path, const char* where, std::uint64_t& size);
// "a directory, not a file", "a FIFO (pipe), not a regular file", ... for a st_mode.
const char* file_kind(unsigned mode);
// Throws unless `path` names an existing regular file (the check above, without opening it).
void require_regular_file(const std::string& path, const char* where);
// Reads `size` bytes at `offset` of `fd` into `out` (false: the file ended early or read failed).
bool read_at(int fd, std::uint64_t offset, void* out, std::uint64_t size);

}  // namespace attend::io
