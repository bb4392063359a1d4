// --threads for both thread pools of a model run: attend's kernels and OpenBLAS (cli_threads.h).
#include "cli_threads.h"

#include "attend/runtime.h"

extern "C" {
void openblas_set_num_threads(int);  // OpenBLAS's C API (every OpenBLAS build has both)
int openblas_get_num_threads(void);
}

namespace attend::cli {

void set_cli_threads(int threads) {
  if (threads <= 0) return;
  set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int blas_threads() { return openblas_get_num_threads(); }

}  // namespace attend::cli
