#pragma once
// Internals of atomic writes (attend/io.h has the public entry): the temporary-name pattern, the
// clean-up of stale temporaries, and a switch that forces the named-temporary path (for tests).
#include <ctime>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace attend::io {

// Temporaries are ".<name>.attend-tmp-XXXXXX" (X in [A-Za-z0-9]) beside the target: a file for a
// file write, a folder for a report folder. Only names of exactly this form are ever cleaned.
bool is_temp_name(std::string_view name);
std::string temp_name(std::string_view target_name);  // a fresh random name of that form
// Removes temporaries of that form in `dir` owned by this user and unmodified for more than
// `older_than_s` seconds (10 minutes by default: a concurrent writer's temporary is younger).
// Returns how many were removed; errors are ignored (clean-up never fails a write).
int remove_stale_temps(const std::string& dir, std::time_t older_than_s = 600);

enum class TempKind { unnamed, named };  // unnamed: O_TMPFILE + linkat where the filesystem can
void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces, TempKind kind);
inline void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces, TempKind kind) {
  write_file_atomically(path, std::span<const std::string_view>(pieces.begin(), pieces.size()), kind);
}

// Folders written as one unit (the observatory report): the content goes into a fresh temporary
// sibling folder, which then replaces `target` in one step. make_temp_folder creates the parents of
// `target`, cleans stale temporaries beside it and returns the new folder (mode: that of an
// existing `target`, else 0777 & ~umask). replace_folder fsyncs it and swaps it into place with
// renameat2(RENAME_EXCHANGE) where the filesystem has it (no moment without a whole folder), else
// by renaming the old folder aside first (a window of two renames in which `target` is absent; a
// crash there leaves the old folder under a temporary name, removed 10 minutes later); then the old
// content is removed. On failure the temporary folder is removed and `target` is untouched.
std::string make_temp_folder(const std::string& target);
void replace_folder(const std::string& temp, const std::string& target);
void remove_tree(const std::string& path);  // best effort

std::string parent_dir(const std::string& path);
std::string base_name(const std::string& path);

}  // namespace attend::io
