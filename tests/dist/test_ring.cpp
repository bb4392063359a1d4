// Ring attention over MPI equals the single-process kernel: forward (out, lse) and backward
// (dq, dk, dv), causal and not, contiguous uneven slices and zig-zag, GQA, windows, bf16/f16.
// Run: mpirun --oversubscribe -np 2 test_ring   (and -np 4). Exit status 0 only if every rank passes.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <array>
#include <random>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "attend/dist.h"

namespace {

using namespace attend;

int g_failures = 0;
int g_rank = 0, g_ranks = 1;

std::vector<float> to_f32(const TensorView& t) {  // dense [B, n, H, W] or [B, H, n]
  Tensor c(DType::f32, t.shape, t.rank);
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  std::int64_t idx = 0;
  const std::int64_t n3 = t.rank > 3 ? t.dim(3) : 1;
  for (std::int64_t a = 0; a < t.dim(0); ++a)
    for (std::int64_t b = 0; b < t.dim(1); ++b)
      for (std::int64_t c2 = 0; c2 < t.dim(2); ++c2)
        for (std::int64_t e = 0; e < n3; ++e) {
          const std::int64_t off = a * t.step(0) + b * t.step(1) + c2 * t.step(2) + (t.rank > 3 ? e * t.step(3) : 0);
          float x = 0;
          convert_to_f32(static_cast<const char*>(t.data) + off * static_cast<std::int64_t>(dtype_size(t.dtype)), t.dtype, &x, 1);
          v[static_cast<std::size_t>(idx++)] = x;
        }
  return v;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(b[i]) || std::isinf(a[i])) {  // lse of fully masked rows: both -inf
      if (a[i] != b[i]) num += 1e30;
      continue;
    }
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

void fill(const Tensor& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(static_cast<std::size_t>(t.numel()));
  for (float& e : x) e = u(rng);
  convert_from_f32(x.data(), t.data(), t.dtype(), x.size());
}

// This rank's rows of a global [B, N, H, W] tensor, gathered densely (segments may be two runs).
Tensor slice(const Tensor& g, const std::vector<dist::Segment>& segs, std::int64_t rows, int dim = 1) {
  std::array<std::int64_t, kMaxRank> shape = g.view().shape;
  shape[static_cast<std::size_t>(dim)] = rows;
  Tensor t(g.dtype(), shape, g.rank());
  const TensorView gv = g.view(), tv = t.view();
  const std::size_t es = dtype_size(g.dtype());
  for (const auto& s : segs)
    for (std::int64_t a = 0; a < gv.dim(0); ++a)
      for (std::int64_t i = 0; i < s.length; ++i) {
        if (dim == 1)  // [B, N, H, W]: copy H·W elements
          std::memcpy(static_cast<char*>(tv.data) + (a * tv.step(0) + (s.local + i) * tv.step(1)) * static_cast<std::int64_t>(es),
                      static_cast<const char*>(gv.data) + (a * gv.step(0) + (s.global + i) * gv.step(1)) * static_cast<std::int64_t>(es),
                      static_cast<std::size_t>(gv.step(1)) * es);
        else  // lse [B, H, N]
          for (std::int64_t h = 0; h < gv.dim(1); ++h)
            std::memcpy(static_cast<char*>(tv.data) + (a * tv.step(0) + h * tv.step(1) + s.local + i) * static_cast<std::int64_t>(es),
                        static_cast<const char*>(gv.data) + (a * gv.step(0) + h * gv.step(1) + s.global + i) * static_cast<std::int64_t>(es), es);
      }
  return t;
}

struct Case {
  std::string name;
  std::int64_t b = 1, hq = 2, hkv = 2, d = 16, dv = 16;
  bool causal = false;
  std::int64_t left = -1, right = -1;
  DType dtype = DType::f32;
  dist::Layout layout = dist::Layout::contiguous;
  bool uneven = false;
  std::int64_t n_even = 24;  // per-rank rows when not uneven
};

void check(const char* what, const Case& c, double err, double tol) {
  if (!(err <= tol)) {
    ++g_failures;
    std::printf("rank %d FAIL %s %s: rel err %.3g > %.3g\n", g_rank, c.name.c_str(), what, err, tol);
  }
}

void run(const Case& c) {
  // Global sizes: uneven gives rank r 1 + 9·r rows (rank 0 holds a single row).
  std::vector<std::int64_t> rows(static_cast<std::size_t>(g_ranks));
  std::int64_t N = 0;
  for (int r = 0; r < g_ranks; ++r) N += rows[static_cast<std::size_t>(r)] = c.uneven ? 1 + 9 * r : c.n_even;
  std::vector<dist::Segment> segs;
  std::int64_t n = 0;
  if (c.layout == dist::Layout::zigzag) {
    segs = dist::zigzag_segments(N, g_ranks, g_rank);
    n = dist::zigzag_rows(N, g_ranks, g_rank);
  } else {
    std::int64_t start = 0;
    for (int r = 0; r < g_rank; ++r) start += rows[static_cast<std::size_t>(r)];
    n = rows[static_cast<std::size_t>(g_rank)];
    segs = {{start, 0, n}};
  }
  Tensor q(c.dtype, {c.b, N, c.hq, c.d}), k(c.dtype, {c.b, N, c.hkv, c.d}), v(c.dtype, {c.b, N, c.hkv, c.dv});
  Tensor dout(c.dtype, {c.b, N, c.hq, c.dv});
  fill(q, 11), fill(k, 12), fill(v, 13), fill(dout, 14);
  AttentionOptions o;
  o.causal = c.causal;
  o.window_left = c.left;
  o.window_right = c.right;
  o.threads = 1;  // ranks share the cores

  // Single process, whole sequence.
  Tensor out(c.dtype, {c.b, N, c.hq, c.dv}), lse(DType::f32, {c.b, c.hq, N});
  attention(q.view(), k.view(), v.view(), out.view(), o, lse.view());
  Tensor dq(c.dtype, {c.b, N, c.hq, c.d}), dk(c.dtype, {c.b, N, c.hkv, c.d}), dv(c.dtype, {c.b, N, c.hkv, c.dv});
  attention_backward(q.view(), k.view(), v.view(), out.view(), dout.view(), lse.view(), {dq.view(), dk.view(), dv.view(), {}}, o);

  // Ring.
  Tensor lq = slice(q, segs, n), lk = slice(k, segs, n), lv = slice(v, segs, n), ld = slice(dout, segs, n);
  Tensor lo(c.dtype, {c.b, n, c.hq, c.dv}), ll(DType::f32, {c.b, c.hq, n});
  dist::ring_attention(MPI_COMM_WORLD, lq.view(), lk.view(), lv.view(), lo.view(), o, ll.view(), c.layout);
  const double tol = c.dtype == DType::f32 ? 1e-5 : 1e-2;
  check("out", c, rel_l2(to_f32(lo.view()), to_f32(slice(out, segs, n).view())), tol);
  check("lse", c, rel_l2(to_f32(ll.view()), to_f32(slice(lse, segs, n, 2).view())), 1e-5);

  Tensor gq(c.dtype, {c.b, n, c.hq, c.d}), gk(c.dtype, {c.b, n, c.hkv, c.d}), gv(c.dtype, {c.b, n, c.hkv, c.dv});
  // Backward from the single-process out/lse slices so both sides differentiate the same values.
  Tensor so = slice(out, segs, n), sl = slice(lse, segs, n, 2);
  dist::ring_attention_backward(MPI_COMM_WORLD, lq.view(), lk.view(), lv.view(), so.view(), ld.view(), sl.view(),
                                {gq.view(), gk.view(), gv.view(), {}}, o, c.layout);
  const double gtol = c.dtype == DType::f32 ? 1e-4 : 2e-2;
  check("dq", c, rel_l2(to_f32(gq.view()), to_f32(slice(dq, segs, n).view())), gtol);
  check("dk", c, rel_l2(to_f32(gk.view()), to_f32(slice(dk, segs, n).view())), gtol);
  check("dv", c, rel_l2(to_f32(gv.view()), to_f32(slice(dv, segs, n).view())), gtol);
  if (g_rank == 0) std::printf("ran %s (N = %lld over %d ranks)\n", c.name.c_str(), static_cast<long long>(N), g_ranks);
}

void expect_error(const char* name, void (*f)()) {
  try {
    f();
    ++g_failures;
    std::printf("rank %d FAIL %s: no error\n", g_rank, name);
  } catch (const attend::Error& e) {
    if (g_rank == 0) std::printf("ok %s: %s\n", name, e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_ranks);
  try {
    run({.name = "full"});
    run({.name = "causal", .causal = true});
    run({.name = "causal uneven", .causal = true, .uneven = true});
    run({.name = "full uneven gqa", .hq = 4, .hkv = 1, .uneven = true});
    run({.name = "causal zigzag gqa batch", .b = 2, .hq = 4, .hkv = 2, .causal = true, .layout = dist::Layout::zigzag, .n_even = 13});
    run({.name = "window uneven", .left = 7, .right = 2, .uneven = true});
    run({.name = "causal window zigzag", .d = 8, .dv = 24, .causal = true, .left = 5, .layout = dist::Layout::zigzag});
    run({.name = "causal bf16", .causal = true, .dtype = DType::bf16, .uneven = true});
    run({.name = "f16 zigzag", .dtype = DType::f16, .layout = dist::Layout::zigzag, .n_even = 9});
    expect_error("bias rejected", [] {
      Tensor q(DType::f32, {1, 4, 1, 8}), b(DType::f32, {1, 1, 4, 4});
      AttentionOptions o;
      o.bias = b.view();
      dist::ring_attention(MPI_COMM_WORLD, q.view(), q.view(), q.view(), q.view(), o);
    });
    expect_error("zigzag rows checked", [] {
      Tensor q(DType::f32, {1, g_rank == 0 ? 3 : 1, 1, 8}), o(DType::f32, {1, g_rank == 0 ? 3 : 1, 1, 8});
      dist::ring_attention(MPI_COMM_WORLD, q.view(), q.view(), q.view(), o.view(), {}, {}, dist::Layout::zigzag);
    });
  } catch (const std::exception& e) {
    std::printf("rank %d FAIL exception: %s\n", g_rank, e.what());
    ++g_failures;
  }
  int total = 0;
  MPI_Allreduce(&g_failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (g_rank == 0) std::printf("%s: %d failure(s) over %d ranks\n", total ? "FAILED" : "PASSED", total, g_ranks);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
