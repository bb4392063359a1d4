// kernels::gemm_bf16: argument checks, then the active path's block function over disjoint blocks
// of C on attend's pool (for_gemm_blocks, the same split as kernels::gemm).
#include "kernels/gemm_bf16.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/dispatch.h"
#include "kernels/gemm_split.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

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
  for_gemm_blocks(p.M, p.N, p.K, threads, [&](I64 m0, I64 m1, I64 n0, I64 n1) { block(p, m0, m1, n0, n1); });
}

}  // namespace attend::kernels
