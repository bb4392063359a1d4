#pragma once
// Process-wide runtime settings: threads and the SIMD path.
//
// Concurrency contract:
// - Every function here may be called from any thread at any time, also while kernels run on
//   other threads: the settings are one atomic (the SIMD path) and a mutex-guarded count (threads).
// - A kernel call (attention, attention_backward, decode) reads each setting once, when it starts:
//   the thread count when it resolves opts.threads = 0, the SIMD path when it selects its kernels.
//   A change affects calls that start afterwards; a call already running finishes wholly on the
//   old thread count and path. (A model's forward is one such call per layer, so a change made
//   during it may reach its later layers.)
// - The kernels share one process-wide thread pool (or the host's executor, attend/executor.h).
//   Calls made at once from several threads (or nested in a task) share its threads: each calling
//   thread works on its own call and idle pool threads join any running call, so concurrent calls
//   progress in parallel and never deadlock (src/core/thread_pool.h).
// - The model runtime's matrix products, activations, norms and cross-entropy run on the same pool
//   (attend's own packed-panel GEMM, not a BLAS), so one pool owns every thread of a forward,
//   backward or training step. OpenBLAS remains only under the graph tools' LAPACK solves and the
//   observatory's small double-precision products; it follows its own settings (OPENBLAS_NUM_THREADS).
// Tested under ThreadSanitizer: ConcurrentRuntime.*.
#include <cstdint>
#include <string_view>

namespace attend {

// Worker threads used by kernels when a call does not say (default: hardware concurrency).
void set_num_threads(int n);
int num_threads();

// SIMD paths. Dispatch happens once per call at a coarse entry point.
enum class Isa { scalar, avx2, avx512 };
Isa detected_isa();                  // best path this CPU supports
Isa active_isa();                    // the override, else the start-up path (never above detected)
void set_isa_override(Isa isa);      // e.g. force the AVX2 path in tests; throws if unsupported
void clear_isa_override();           // back to the start-up path
std::string_view isa_name(Isa isa);  // "scalar", "avx2", "avx512"
// The start-up path: the environment variable ATTEND_ISA=scalar|avx2|avx512 when set (read once;
// an unknown or unsupported value makes every kernel call throw), else the detected one.

// Per-core data cache sizes in bytes as the OS reports them (glibc's sysconf, which reads cpuid),
// or 32 KiB / 512 KiB where it reports none. The forward kernel sizes its key tiles from l2.
struct CacheSizes {
  std::int64_t l1d = 0, l2 = 0;
};
CacheSizes cache_sizes();

// Kernels keep the scratch memory of the calling thread's recent calls (at most 96 MiB per thread)
// so repeated calls reuse mapped pages; this frees the calling thread's idle scratch now (only the
// calling thread's: each thread's cache is its own).
void release_scratch_memory();

// Decode's products with q8_0 weights (one to four activation rows: the model's token-by-token
// steps) quantize each activation row, once per product, to 8-bit blocks of 32 with an f32 scale
// (d = max|x|/127, round to nearest) and run the dots in integers (AVX-512 VNNI vpdpbusd, AVX2
// vpmaddubsw; exact int32 sums) with one f32 multiply per block, as llama.cpp does. This is a
// numerics choice, the default: a product then differs from the exact one by at most
// Σ_i |w_i|·d_x/2 (d_x of x_i's block), about 0.2 % of its terms' magnitude. Off: the activations
// stay f32 and a product is f32 arithmetic on the dequantized weights (the reference). Read once
// per product; other weight types and prefill (more rows) are unaffected.
void set_int8_activations(bool on);
bool int8_activations();

}  // namespace attend
