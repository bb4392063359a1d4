// kernels::gemm: the active path's block function over disjoint blocks of C on attend's pool.
#include "kernels/gemm.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

// Tasks are blocks of C: columns in blocks of up to kNc (a multiple of every path's micro-tile
// width), all rows unless that leaves fewer than two tasks per worker; then the rows are split too
// (each row block packs B's slices again, so only as many as needed).
constexpr I64 kNc = 512;
constexpr I64 kRowAlign = 6;          // the micro-tile's rows
constexpr double kSerialFlops = 2e6;  // smaller products run on the caller (a pool hand-off costs µs)

}  // namespace

void gemm(const GemmProblem& p, int threads) {
  if (p.M <= 0 || p.N <= 0) return;
  const GemmBlockFn block = active_kernels().gemm_block;
  const I64 nb = (p.N + kNc - 1) / kNc;
  const double flops = 2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  core::ThreadPool& pool = core::global_pool();
  const int want = flops < kSerialFlops ? 1 : core::resolve_threads(threads);
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
