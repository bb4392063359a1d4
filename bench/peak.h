#pragma once
// Microbenchmarks of this machine's limits, measured (never quoted from a datasheet).
#include "attend/runtime.h"

namespace attend::bench {

// Sustained FMA throughput in GFLOP/s (1 FMA = 2 FLOPs) on `threads` threads, using the widest
// f32 FMA the `isa` path has. bf16: vdpbf16ps (AVX512-BF16) throughput, 0 when not available.
double measure_fma_peak_gflops(int threads, Isa isa);
double measure_bf16_peak_gflops(int threads);

// Per-ISA loops: run `iters` iterations of independent FMA chains; return FLOPs done.
double fma_loop_avx512(long iters);
double bf16_loop_avx512(long iters);
double fma_loop_avx2(long iters);

}  // namespace attend::bench
