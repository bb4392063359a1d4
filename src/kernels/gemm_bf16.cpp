// kernels::gemm_bf16: argument checks, then the active path's block function over disjoint blocks
// of C on attend's pool (the same split as kernels::gemm, gemm.cpp).
#include "kernels/gemm_bf16.h"

#include <algorithm>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

constexpr I64 kNc = 512;              // columns per task (a multiple of the 64-column micro-tile)
constexpr I64 kRowAlign = 6;          // the micro-tile's rows
constexpr double kSerialFlops = 2e6;  // smaller products run on the caller (a pool hand-off costs µs)

void check(const GemmBf16Problem& p) {
  static constexpr const char* fn = "gemm_bf16";
  if (p.M < 0 || p.N < 0 || p.K < 0) detail::fail(fn, "negative size M=", p.M, " N=", p.N, " K=", p.K);
  if (p.M == 0 || p.N == 0) return;
  if (p.lda < std::max<I64>(p.K, 1)) detail::fail(fn, "lda=", p.lda, " is below A's row of ", p.K);
  const I64 b_row = p.b.out_rows ? p.K : p.N;
  if (p.b.ld < std::max<I64>(b_row, 1)) detail::fail(fn, "B's ld=", p.b.ld, " is below its stored row of ", b_row);
  if (p.ldc < p.N) detail::fail(fn, "ldc=", p.ldc, " is below C's row of ", p.N);
  if (p.c == nullptr || (p.K > 0 && (p.a == nullptr || p.b.data == nullptr)))
    detail::fail(fn, "a null operand (A, B or C) for M=", p.M, " N=", p.N, " K=", p.K);
}

}  // namespace

// A: [M, K] f32, op(B): [K, N] bf16, C: [M, N] f32, bias: [N]
void gemm_bf16(const GemmBf16Problem& p, int threads) {
  check(p);
  if (p.M == 0 || p.N == 0) return;
  const GemmBf16BlockFn block = active_kernels().gemm_bf16_block;  // the path, chosen once for the call
  const I64 nb = (p.N + kNc - 1) / kNc;
  const double flops = 2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  core::ThreadPool& pool = core::global_pool();
  const int want = flops < kSerialFlops ? 1 : core::resolve_threads(threads);
  // Columns in blocks of kNc; rows split too only when that leaves fewer than two tasks per worker
  // (each row block packs B's slices again). Rows split at multiples of 6, so every element of C
  // is computed by the same operations whatever the split: the result ignores the thread count.
  const I64 row_blocks_max = (p.M + kRowAlign - 1) / kRowAlign;
  const I64 mb = std::min(row_blocks_max, std::max<I64>(1, (2 * want + nb - 1) / nb));
  const I64 rows = (p.M + mb - 1) / mb, mc = (rows + kRowAlign - 1) / kRowAlign * kRowAlign;
  const I64 tasks = ((p.M + mc - 1) / mc) * nb;
  auto run = [&](I64 t) {
    const I64 i = t / nb, j = t % nb;
    block(p, i * mc, std::min(p.M, (i + 1) * mc), j * kNc, std::min(p.N, (j + 1) * kNc));
  };
  const int workers = want <= 1 ? 1 : pool.workers_for(tasks, want);
  if (workers <= 1) {
    for (I64 t = 0; t < tasks; ++t) run(t);
    return;
  }
  pool.parallel_for(tasks, [&](I64 t, int) { run(t); }, workers);
}

}  // namespace attend::kernels
