// PathCheck: see cli_paths.h.
#include "cli_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "io/files.h"

namespace attend::cli {
namespace fs = std::filesystem;

namespace {

struct Identity {
  std::string canonical;  // weakly canonical absolute path
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
};

Identity identify(const std::string& path) {
  Identity id;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  id.canonical = ec ? path : p.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  return id;
}

bool same_file(const Identity& a, const Identity& b) {
  return a.canonical == b.canonical || (a.exists && b.exists && a.dev == b.dev && a.ino == b.ino);
}

// `b` lies inside folder `a` (canonical paths).
bool inside(const std::string& folder, const std::string& path) {
  return path.size() > folder.size() && path.compare(0, folder.size(), folder) == 0 && path[folder.size()] == '/';
}

std::string parent_of(const std::string& path) {
  const fs::path p = fs::path(path).parent_path();
  return p.empty() ? "." : p.string();
}

}  // namespace

PathCheck& PathCheck::input(std::string flag, std::string path, bool replaceable) {
  if (!path.empty()) items_.push_back({std::move(flag), std::move(path), {}, Item::input, replaceable});
  return *this;
}

PathCheck& PathCheck::model(std::string flag, std::string path) {
  if (!path.empty()) items_.push_back({std::move(flag), std::move(path), {}, Item::input, false, true});
  return *this;
}

PathCheck& PathCheck::output(std::string flag, std::string path, std::vector<std::string> extensions) {
  if (!path.empty()) items_.push_back({std::move(flag), std::move(path), std::move(extensions), Item::file});
  return *this;
}

PathCheck& PathCheck::output_folder(std::string flag, std::string path) {
  if (!path.empty()) items_.push_back({std::move(flag), std::move(path), {}, Item::folder});
  return *this;
}

void PathCheck::check() const {
  const char* where = command_.c_str();
  std::vector<Identity> ids;
  for (const Item& it : items_) {
    if (it.kind == Item::input) {
      struct stat st {};
      if (::stat(it.path.c_str(), &st) != 0) detail::fail(where, it.flag, " '", it.path, "': ", std::strerror(errno));
      if (!S_ISREG(st.st_mode) && !(it.folder_ok && S_ISDIR(st.st_mode)))
        detail::fail(where, it.flag, " '", it.path, "' is ", io::file_kind(st.st_mode));
    } else if (it.kind == Item::file) {
      std::string ext_list;
      bool ok = it.extensions.empty();
      for (const std::string& e : it.extensions) {
        ok = ok || (it.path.size() > e.size() && it.path.ends_with(e));
        ext_list += (ext_list.empty() ? "" : " or ") + e;
      }
      if (!ok) detail::fail(where, it.flag, " '", it.path, "' must end in ", ext_list, " (the format it is written in)");
      struct stat st {};
      if (::stat(it.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        detail::fail(where, it.flag, " '", it.path, "' exists and is not a regular file");
      const std::string dir = parent_of(it.path);
      struct stat ds {};
      if (::stat(dir.c_str(), &ds) != 0) detail::fail(where, it.flag, " '", it.path, "': the folder '", dir, "' does not exist");
      if (!S_ISDIR(ds.st_mode)) detail::fail(where, it.flag, " '", it.path, "': '", dir, "' is not a folder");
      if (::access(dir.c_str(), W_OK | X_OK) != 0)
        detail::fail(where, it.flag, " '", it.path, "': cannot write into the folder '", dir, "': ", std::strerror(errno));
    } else {
      struct stat st {};
      if (::stat(it.path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
        detail::fail(where, it.flag, " '", it.path, "' exists and is not a folder");
      std::string dir = parent_of(it.path);  // the nearest existing ancestor must be writable
      while (::stat(dir.c_str(), &st) != 0 && dir != "." && dir != "/") dir = parent_of(dir);
      if (!S_ISDIR(st.st_mode)) detail::fail(where, it.flag, " '", it.path, "': '", dir, "' is not a folder");
      if (::access(dir.c_str(), W_OK | X_OK) != 0)
        detail::fail(where, it.flag, " '", it.path, "': cannot write into the folder '", dir, "': ", std::strerror(errno));
    }
    ids.push_back(identify(it.path));
  }
  for (std::size_t i = 0; i < items_.size(); ++i)
    for (std::size_t j = i + 1; j < items_.size(); ++j) {
      const Item &a = items_[i], &b = items_[j];
      if (a.kind == Item::input && b.kind == Item::input) continue;  // reading one file twice is fine
      const bool replace_ok = (a.replaceable && b.kind == Item::file) || (b.replaceable && a.kind == Item::file);
      if (same_file(ids[i], ids[j]) && !replace_ok)
        detail::fail(where, a.flag, " '", a.path, "' and ", b.flag, " '", b.path, "' are the same file; ",
                     a.kind == Item::input || b.kind == Item::input ? "an output would overwrite an input" : "one output would overwrite the other");
      const bool a_in_b = b.kind == Item::folder && inside(ids[j].canonical, ids[i].canonical);
      const bool b_in_a = a.kind == Item::folder && inside(ids[i].canonical, ids[j].canonical);
      if (a_in_b || b_in_a)
        detail::fail(where, a.flag, " '", a.path, "' and ", b.flag, " '", b.path, "' overlap: the report folder is replaced as a whole");
    }
}

void require_positive(const std::string& command, const char* flag, long long value) {
  if (value < 1) detail::fail(command.c_str(), flag, " must be a positive count, got ", value);
}

}  // namespace attend::cli
