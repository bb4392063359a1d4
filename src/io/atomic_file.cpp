#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "attend/io.h"
#include "core/check.h"

namespace attend {

using detail::fail;

void write_file_atomically(const std::string& path, std::string_view bytes) { write_file_atomically(path, {bytes}); }

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  write_file_atomically(path, std::span<const std::string_view>(pieces.begin(), pieces.size()));
}

void write_file_atomically(const std::string& path, Span<const std::string_view> pieces) {
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) fail("write_file_atomically", "cannot create a temporary file next to '", path, "': ", std::strerror(errno));
  auto abandon = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("write_file_atomically", what, " '", path, "': ", std::strerror(err));
  };
  for (std::string_view bytes : pieces) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) abandon("cannot write");
      done += static_cast<std::size_t>(n);
    }
  }
  if (::fchmod(fd, 0644) != 0) abandon("cannot set permissions of");
  if (::fsync(fd) != 0) abandon("cannot flush");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("write_file_atomically", "cannot close '", path, "': ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("write_file_atomically", "cannot rename into '", path, "': ", std::strerror(err));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // make the rename durable; failure here cannot un-write the file
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("read_file", "cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) fail("read_file", "cannot read '", path, "'");
  return os.str();
}

}  // namespace attend
