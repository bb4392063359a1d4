// MappedFile: read-only mmap of a whole file.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/check.h"
#include "io/files.h"

namespace attend::io {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  std::uint64_t size = 0;
  const int fd = open_regular_file(path, "MappedFile", size);  // refuses FIFOs and devices before opening them
  size_ = static_cast<std::size_t>(size);
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
