// kernels::gemm: the active path's block function over disjoint blocks of C on attend's pool
// (for_gemm_blocks, shared with kernels::gemm_bf16).
#include "kernels/gemm.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm_split.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

constexpr I64 kRowAlign = 6;          // the micro-tile's rows
constexpr double kSerialFlops = 2e6;  // smaller products run on the caller (a pool hand-off costs µs)

}  // namespace

void for_gemm_blocks(I64 M, I64 N, I64 K, int threads, const std::function<void(I64, I64, I64, I64)>& block) {
  if (M <= 0 || N <= 0) return;
  const I64 nb = (N + kGemmColumnBlock - 1) / kGemmColumnBlock;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  core::ThreadPool& pool = core::global_pool();
  const int want = flops < kSerialFlops ? 1 : core::resolve_threads(threads);
  const I64 row_blocks_max = (M + kRowAlign - 1) / kRowAlign;
  const I64 mb = std::min(row_blocks_max, std::max<I64>(1, (2 * want + nb - 1) / nb));
  const I64 rows = (M + mb - 1) / mb, mc = (rows + kRowAlign - 1) / kRowAlign * kRowAlign;
  const I64 tasks = ((M + mc - 1) / mc) * nb;
  auto run = [&](I64 t) {
    const I64 i = t / nb, j = t % nb;
    block(i * mc, std::min(M, (i + 1) * mc), j * kGemmColumnBlock, std::min(N, (j + 1) * kGemmColumnBlock));
  };
  const int workers = want <= 1 ? 1 : pool.workers_for(tasks, want);
  if (workers <= 1) {
    for (I64 t = 0; t < tasks; ++t) run(t);
    return;
  }
  pool.parallel_for(tasks, [&](I64 t, int) { run(t); }, workers);
}

void gemm(const GemmProblem& p, int threads) {
  const GemmBlockFn block = active_kernels().gemm_block;  // the path, chosen once for the call
  for_gemm_blocks(p.M, p.N, p.K, threads, [&](I64 m0, I64 m1, I64 n0, I64 n1) { block(p, m0, m1, n0, n1); });
}

}  // namespace attend::kernels
