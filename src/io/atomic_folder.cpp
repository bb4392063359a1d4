// Folders replaced as one unit: see io/atomic_file.h.
#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/check.h"
#include "io/atomic_file.h"

namespace attend::io {
namespace {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string strip_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string make_temp_folder(const std::string& target_in) {
  const std::string target = strip_slashes(target_in);
  const std::string parent = parent_dir(target);
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) detail::fail("write_report", "cannot create '", parent, "': ", ec.message());
  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && !S_ISDIR(st.st_mode)) detail::fail("write_report", "'", target, "' exists and is not a folder");
  remove_stale_temps(parent);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string tmp = parent + "/" + temp_name(base_name(target));
    if (::mkdir(tmp.c_str(), 0777) == 0) {  // 0777 & ~umask
      if (exists) ::chmod(tmp.c_str(), st.st_mode & 07777);
      return tmp;
    }
    if (errno != EEXIST) detail::fail("write_report", "cannot create a temporary folder next to '", target, "': ", std::strerror(errno));
  }
  detail::fail("write_report", "cannot create a temporary folder next to '", target, "'");
}

void replace_folder(const std::string& temp, const std::string& target_in) {
  const std::string target = strip_slashes(target_in);
  const std::string parent = parent_dir(target);
  fsync_path(temp);
  if (::rename(temp.c_str(), target.c_str()) == 0) {  // no folder there yet (or an empty one)
    fsync_path(parent);
    return;
  }
  if (errno != EEXIST && errno != ENOTEMPTY) {
    const int err = errno;
    remove_tree(temp);
    detail::fail("write_report", "cannot move the new report into '", target, "': ", std::strerror(err));
  }
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fsync_path(parent);
    remove_tree(temp);  // now holds the old report
    return;
  }
  // No RENAME_EXCHANGE here: old folder aside, new one in, old one removed.
  const std::string aside = parent + "/" + temp_name(base_name(target));
  if (::rename(target.c_str(), aside.c_str()) != 0) {
    const int err = errno;
    remove_tree(temp);
    detail::fail("write_report", "cannot move the old report '", target, "' aside: ", std::strerror(err));
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(aside.c_str(), target.c_str());  // put the old one back
    remove_tree(temp);
    detail::fail("write_report", "cannot move the new report into '", target, "': ", std::strerror(err));
  }
  fsync_path(parent);
  remove_tree(aside);
}

}  // namespace attend::io
