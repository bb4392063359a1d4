#pragma once
// --threads for the training and evaluation commands: one number for attend's kernels AND for
// OpenBLAS, which runs the model's dense products (attend::set_num_threads leaves OpenBLAS alone,
// attend/runtime.h). Without this, `attend train --threads 1` still ran OpenBLAS's second thread,
// which spun for nothing on these small products: twice the CPU time for the same wall time.
namespace attend::cli {

void set_cli_threads(int threads);  // > 0: kernels and OpenBLAS; 0: leave both at their defaults
int blas_threads();                 // OpenBLAS's current thread count (printed in the train banner)

}  // namespace attend::cli
