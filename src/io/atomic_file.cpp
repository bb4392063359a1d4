// Atomic file writes. The data goes to an unnamed file (O_TMPFILE) in the target's folder, which a
// SIGKILL cannot leave behind; it is fsynced, given a name with linkat (via /proc/self/fd, or
// AT_EMPTY_PATH) and renamed over the target, then the folder is fsynced. Where the filesystem has
// no O_TMPFILE a named temporary is used; either way stale temporaries of our own pattern older
// than 10 minutes are removed on the next write into that folder. Modes: an existing file keeps
// its mode (and, where allowed, owner); a new file gets 0666 & ~umask like any created file.
#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <random>
#include <string>

#include "attend/io.h"
#include "core/check.h"

namespace attend {
namespace io {
namespace {

constexpr std::string_view kMark = ".attend-tmp-";
constexpr std::size_t kRandom = 6;

bool write_all(int fd, std::span<const std::string_view> pieces) {
  for (std::string_view bytes : pieces) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  return true;
}

// An existing target's permission bits and owner are kept (set-id and sticky bits are not: a data
// file never needs them); a new file keeps what open() gave it under the umask.
bool adopt_existing_mode(int fd, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return true;
  struct stat mine {};
  if (::fstat(fd, &mine) == 0 && (mine.st_uid != st.st_uid || mine.st_gid != st.st_gid))
    (void)::fchown(fd, st.st_uid, st.st_gid);  // best effort: only root (or a group member) may
  return ::fchmod(fd, st.st_mode & 0777) == 0;
}

void fsync_dir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // makes the rename durable; failure here cannot un-write the file
    ::fsync(dfd);
    ::close(dfd);
  }
}

[[noreturn]] void fail_errno(const char* what, const std::string& path, int err) {
  detail::fail("write_file_atomically", what, " '", path, "': ", std::strerror(err));
}

// Gives the unnamed file `fd` the name `name` (false with errno set when this system cannot).
bool link_unnamed(int fd, const std::string& name) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
  if (errno == EEXIST) return false;
  const int first = errno;
  if (::linkat(fd, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) return true;  // needs CAP_DAC_READ_SEARCH
  if (errno != EEXIST) errno = first;
  return false;
}

// Renames `tmp` over `path` and makes it durable; removes `tmp` on failure.
void publish(const std::string& tmp, const std::string& path, const std::string& dir) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno("cannot rename into", path, err);
  }
  fsync_dir(dir);
}

void write_named(const std::string& path, const std::string& dir, std::span<const std::string_view> pieces) {
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = dir + "/" + temp_name(base_name(path));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // 0666 & ~umask
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) fail_errno("cannot create a temporary file next to", path, errno);
  auto abandon = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail_errno(what, path, err);
  };
  if (!write_all(fd, pieces)) abandon("cannot write");
  if (!adopt_existing_mode(fd, path)) abandon("cannot keep the permissions of");
  if (::fsync(fd) != 0) abandon("cannot flush");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno("cannot close", path, err);
  }
  publish(tmp, path, dir);
}

// Returns false (nothing written, no file left) when the filesystem has no O_TMPFILE or linkat
// cannot name the file; the caller then uses a named temporary.
bool write_unnamed(const std::string& path, const std::string& dir, std::span<const std::string_view> pieces) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);  // 0666 & ~umask
  if (fd < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL || errno == ENOSYS) return false;
    fail_errno("cannot create a temporary file next to", path, errno);
  }
  auto abandon = [&](const char* what) {  // the unnamed file vanishes with its descriptor
    const int err = errno;
    ::close(fd);
    fail_errno(what, path, err);
  };
  if (!write_all(fd, pieces)) abandon("cannot write");
  if (!adopt_existing_mode(fd, path)) abandon("cannot keep the permissions of");
  if (::fsync(fd) != 0) abandon("cannot flush");
  // A new target is created by the link itself (no name ever exists half-written); an existing
  // one is replaced by a rename from a short-lived temporary name.
  if (link_unnamed(fd, path)) {
    ::close(fd);
    fsync_dir(dir);
    return true;
  }
  if (errno != EEXIST) {  // linkat refused (no /proc, no privilege): fall back to a named temporary
    ::close(fd);
    return false;
  }
  std::string tmp;
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = dir + "/" + temp_name(base_name(path));
    if (link_unnamed(fd, tmp)) break;
    if (errno != EEXIST) abandon("cannot name a temporary file next to");
    tmp.clear();
  }
  if (tmp.empty()) abandon("cannot name a temporary file next to");
  ::close(fd);
  publish(tmp, path, dir);
  return true;
}

}  // namespace

std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_temp_name(std::string_view name) {
  if (name.size() < 1 + 1 + kMark.size() + kRandom || name.front() != '.') return false;
  const std::string_view tail = name.substr(name.size() - kRandom);
  for (char c : tail)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return name.substr(name.size() - kRandom - kMark.size(), kMark.size()) == kMark;
}

std::string temp_name(std::string_view target_name) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32)};
  std::string name = ".";
  name += target_name.substr(0, 200);  // keeps the name under NAME_MAX
  name += kMark;
  for (std::size_t i = 0; i < kRandom; ++i) name += kChars[rng() % (sizeof kChars - 1)];
  return name;
}

int remove_stale_temps(const std::string& dir, std::time_t older_than_s) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  const std::time_t now = std::time(nullptr);
  const uid_t me = ::geteuid();
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    if (!is_temp_name(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != me) continue;
    if (now - st.st_mtime <= older_than_s) continue;  // maybe another writer's, still at work
    if (S_ISREG(st.st_mode)) {
      removed += ::unlinkat(::dirfd(d), e->d_name, 0) == 0;
    } else if (S_ISDIR(st.st_mode)) {  // an unfinished report folder
      std::error_code ec;
      removed += std::filesystem::remove_all(dir + "/" + e->d_name, ec) > 0 && !ec;
    }
  }
  ::closedir(d);
  return removed;
}

void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces, TempKind kind) {
  if (path.empty()) detail::fail("write_file_atomically", "empty path");
  const std::string dir = parent_dir(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) detail::fail("write_file_atomically", "'", path, "' is a directory");
  remove_stale_temps(dir);
  if (kind == TempKind::unnamed && write_unnamed(path, dir, pieces)) return;
  write_named(path, dir, pieces);
}

}  // namespace io

void write_file_atomically(const std::string& path, std::string_view bytes) { write_file_atomically(path, {bytes}); }

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  write_file_atomically(path, std::span<const std::string_view>(pieces.begin(), pieces.size()));
}

void write_file_atomically(const std::string& path, Span<const std::string_view> pieces) {
  io::write_file_atomically(path, pieces, io::TempKind::unnamed);
}

}  // namespace attend
