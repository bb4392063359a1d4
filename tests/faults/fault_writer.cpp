// Helper for the fault-injection test (faults.sh):
//   fault_writer loop PATH BYTES     rewrite PATH forever, alternating all-'a' and all-'b' contents
//   fault_writer limited PATH BYTES  write BYTES under a 64 KiB file-size limit (a full disk):
//                                    must fail with a message and leave PATH as it was
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attend/error.h"
#include "attend/io.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: fault_writer loop|limited PATH BYTES\n");
    return 2;
  }
  const std::string mode = argv[1], path = argv[2];
  const std::size_t bytes = std::strtoull(argv[3], nullptr, 10);
  if (mode == "loop") {
    for (unsigned i = 0;; ++i) attend::write_file_atomically(path, std::string(bytes, (i & 1) ? 'b' : 'a'));
  }
  if (mode == "limited") {
    std::signal(SIGXFSZ, SIG_IGN);  // exceeding the limit then fails write() with EFBIG instead of killing us
    rlimit lim{64 * 1024, 64 * 1024};
    setrlimit(RLIMIT_FSIZE, &lim);
    try {
      attend::write_file_atomically(path, std::string(bytes, 'z'));
    } catch (const attend::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
    return 0;
  }
  return 2;
}
