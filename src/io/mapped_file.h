#pragma once
// A whole file mapped read-only into memory (mmap, MAP_PRIVATE, PROT_READ). Pages are read on first
// touch and belong to the page cache, so a multi-gigabyte checkpoint costs no copy and no more
// resident memory than the pages a forward actually reads.
//
// Contract: the bytes stay valid and unchanged (for this process) until the MappedFile is destroyed;
// any thread may read them. Truncating the file underneath a mapping is undefined by POSIX (SIGBUS):
// checkpoints are written atomically (rename), which leaves an open mapping on the old inode.
#include <cstddef>
#include <string>
#include <string_view>

namespace attend::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws attend::Error naming the path and errno
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
};

}  // namespace attend::io
