// Reading whole files: regular files only, memory requested once for the file's size (so a file
// too large for memory fails at once with a message rather than after reading gigabytes).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "attend/io.h"
#include "core/check.h"
#include "io/files.h"

namespace attend {
namespace io {
const char* file_kind(unsigned m) {
  if (S_ISDIR(m)) return "a directory, not a file";
  if (S_ISFIFO(m)) return "a FIFO (pipe), not a regular file";
  if (S_ISCHR(m)) return "a character device, not a regular file";
  if (S_ISBLK(m)) return "a block device, not a regular file";
  if (S_ISSOCK(m)) return "a socket, not a regular file";
  return "not a regular file";
}

void require_regular_file(const std::string& path, const char* where) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) detail::fail(where, "cannot open '", path, "': ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) detail::fail(where, "'", path, "' is ", file_kind(st.st_mode));
}

int open_regular_file(const std::string& path, const char* where, std::uint64_t& size) {
  require_regular_file(path, where);  // before open(): opening a FIFO or a device has effects
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) detail::fail(where, "cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  // replaced between the check and the open
    ::close(fd);
    detail::fail(where, "'", path, "' is ", file_kind(st.st_mode));
  }
  size = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

bool read_at(int fd, std::uint64_t offset, void* out, std::uint64_t size) {
  char* p = static_cast<char*>(out);
  while (size > 0) {
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, std::uint64_t{1} << 30));
    const ssize_t n = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::uint64_t>(n);
  }
  return true;
}

}  // namespace io

std::string read_file(const std::string& path) {
  std::uint64_t size = 0;
  const int fd = io::open_regular_file(path, "read_file", size);
  std::string out;
  try {
    out.resize(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    detail::fail("read_file", "not enough memory to read '", path, "' (", size, " bytes)");
  } catch (const std::length_error&) {
    ::close(fd);
    detail::fail("read_file", "not enough memory to read '", path, "' (", size, " bytes)");
  }
  const bool ok = io::read_at(fd, 0, out.data(), size);
  ::close(fd);
  if (!ok) detail::fail("read_file", "cannot read '", path, "' (it ended early or changed while being read)");
  return out;
}

}  // namespace attend
