// MappedFile: read-only mmap of a whole file.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/check.h"

namespace attend::io {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) detail::fail("MappedFile", "cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(fd);
    detail::fail("MappedFile", "'", path, "' is not a readable regular file", err ? std::string(": ") + std::strerror(err) : std::string());
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {  // mmap of length 0 fails with EINVAL: an empty file maps to no bytes
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      if (err == ENOMEM)  // the address-space limit (ulimit -v) or memory: say so in words
        detail::fail("MappedFile", "not enough memory to read '", path, "' (", size_, " bytes cannot be mapped)");
      detail::fail("MappedFile", "cannot map '", path, "' (", size_, " bytes): ", std::strerror(err));
    }
    data_ = p;
  }
  ::close(fd);  // the mapping keeps the file open
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

}  // namespace attend::io
