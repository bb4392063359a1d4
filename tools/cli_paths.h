#pragma once
// The one place every subcommand checks its file arguments, BEFORE any work starts:
//   inputs   exist and are regular files (a directory, FIFO or device is refused by name; a
//            model may also be a checkpoint folder);
//   outputs  land in an existing, writable folder, are not an existing folder, carry the
//            extension of their format, and differ from each other and from every input
//            (canonical paths, and st_dev/st_ino so hard links and symlinks count as the same file);
//   folders  (report outputs) are a folder or absent, under a writable ancestor, and hold no input.
// Errors are attend::Error naming the flag(s) and path(s) (escaped for the terminal).
#include <string>
#include <vector>

namespace attend::cli {

class PathCheck {
 public:
  explicit PathCheck(std::string command) : command_(std::move(command)) {}
  // Empty paths are skipped (optional arguments not given). `replaceable`: an output may be this
  // very file (train --resume m.safetensors --out m.safetensors: read first, replaced atomically).
  PathCheck& input(std::string flag, std::string path, bool replaceable = false);
  // A model: a checkpoint file or a folder (a Hugging Face checkpoint: config.json + weights).
  PathCheck& model(std::string flag, std::string path);
  PathCheck& output(std::string flag, std::string path, std::vector<std::string> extensions);
  PathCheck& output_folder(std::string flag, std::string path);
  void check() const;  // throws attend::Error

 private:
  struct Item {
    std::string flag, path;
    std::vector<std::string> extensions;
    enum Kind { input, file, folder } kind;
    bool replaceable = false;
    bool folder_ok = false;  // an input that may be a folder (--model)
  };
  std::string command_;
  std::vector<Item> items_;
};

// Counts from the command line: > 0 (or >= 0 where zero means something), else attend::Error.
void require_positive(const std::string& command, const char* flag, long long value);

}  // namespace attend::cli
