// attend sdpa-ring: ring attention across MPI ranks (run under mpirun). A separate subcommand
// rather than `sdpa --ring` so the plain CLI keeps no MPI code and this file compiles only with
// MPI. Each rank takes its rows of the .npy inputs (or a reproducible random slice: row g of the
// global sequence is generated from (seed, g), so the slice never depends on P); rank 0 gathers
// the output, writes it (atomically) and/or checks it against the single-process kernel.
#if ATTEND_HAVE_MPI
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "attend/dist.h"
#include "cli_paths.h"
#include "command.h"
#include "core/check.h"

namespace attend::cli {
namespace {

struct RingArgs {
  std::string q, k, v, out, layout = "contiguous", dtype = "f32";
  std::int64_t random_n = 0, batch = 1, heads = 8, kv_heads = 0, dim = 64;  // kv_heads 0: = heads
  std::uint64_t seed = 1;
  bool causal = false, check = false;
  std::vector<std::int64_t> window;
  int repeat = 1, threads = 0;
};

// This rank's rows (segments) of a global [B, N, H, W] array, densely.
Tensor take_rows(const TensorView& g, const std::vector<dist::Segment>& segs, std::int64_t n) {
  Tensor t(g.dtype, {g.dim(0), n, g.dim(2), g.dim(3)});
  const std::size_t row = static_cast<std::size_t>(g.dim(2) * g.dim(3)) * dtype_size(g.dtype);
  for (const auto& s : segs)
    for (std::int64_t b = 0; b < g.dim(0); ++b)
      for (std::int64_t i = 0; i < s.length; ++i)
        std::memcpy(static_cast<char*>(t.data()) + static_cast<std::size_t>(b * n + s.local + i) * row,
                    static_cast<const char*>(g.data) + static_cast<std::size_t>(b * g.dim(1) + s.global + i) * row, row);
  return t;
}

// Global rows generated from (seed, tensor, row): the same values whatever P and the layout.
Tensor random_rows(DType dt, std::int64_t B, std::int64_t h, std::int64_t w, const std::vector<dist::Segment>& segs,
                   std::int64_t n, std::int64_t total, std::uint64_t seed) {
  Tensor t(dt, {B, n, h, w});
  std::vector<float> row(static_cast<std::size_t>(h * w));
  for (const auto& s : segs)
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t i = 0; i < s.length; ++i) {
        std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(b * total + s.global + i));
        std::uniform_real_distribution<float> u(-1, 1);
        for (float& x : row) x = u(rng);
        convert_from_f32(row.data(), static_cast<char*>(t.data()) + static_cast<std::size_t>((b * n + s.local + i) * h * w) * dtype_size(dt),
                         dt, row.size());
      }
  return t;
}

int run_ring(const RingArgs& a) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) MPI_Init(nullptr, nullptr);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int rc = 0;
  try {
    const dist::Layout layout = a.layout == "zigzag" ? dist::Layout::zigzag : dist::Layout::contiguous;
    const bool random = a.random_n > 0;
    if (!random && (a.q.empty() || a.k.empty() || a.v.empty())) detail::fail("sdpa-ring", "give --q, --k and --v, or --random N");
    PathCheck check("sdpa-ring");
    if (!random) check.input("--q", a.q).input("--k", a.k).input("--v", a.v);
    check.output("--out", rank == 0 ? a.out : std::string(), {".npy"}).check();
    Tensor gq, gk, gv;  // whole inputs (file mode)
    if (!random) gq = read_npy(a.q), gk = read_npy(a.k), gv = read_npy(a.v);
    const std::int64_t N = random ? a.random_n : gq.dim(1);
    std::vector<dist::Segment> segs;
    std::int64_t n = 0;
    if (layout == dist::Layout::zigzag) {
      segs = dist::zigzag_segments(N, ranks, rank);
      n = dist::zigzag_rows(N, ranks, rank);
    } else {
      const std::int64_t s0 = dist::even_split_start(N, ranks, rank);
      n = dist::even_split_start(N, ranks, rank + 1) - s0;
      segs = {{s0, 0, n}};
    }
    Tensor q, k, v;
    if (random) {
      const DType dt = dtype_from_name(a.dtype);
      q = random_rows(dt, a.batch, a.heads, a.dim, segs, n, N, a.seed);
      const std::int64_t hkv = a.kv_heads > 0 ? a.kv_heads : a.heads;
      k = random_rows(dt, a.batch, hkv, a.dim, segs, n, N, a.seed + 1);
      v = random_rows(dt, a.batch, hkv, a.dim, segs, n, N, a.seed + 2);
    } else {
      q = take_rows(gq.view(), segs, n), k = take_rows(gk.view(), segs, n), v = take_rows(gv.view(), segs, n);
    }
    AttentionOptions opts;
    opts.causal = a.causal;
    opts.threads = a.threads;
    if (!a.window.empty()) {
      if (a.window.size() != 2) detail::fail("sdpa-ring", "--window takes L,R");
      opts.window_left = a.window[0], opts.window_right = a.window[1];
    }
    const std::int64_t B = q.dim(0), hq = q.dim(2), dv = v.dim(3);
    Tensor out(q.dtype(), {B, n, hq, dv});
    std::vector<double> times;
    for (int r = 0; r < std::max(1, a.repeat); ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = std::chrono::steady_clock::now();
      dist::ring_attention(MPI_COMM_WORLD, q.view(), k.view(), v.view(), out.view(), opts, {}, layout);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), worst = 0;
      MPI_Reduce(&s, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);  // a step ends when the slowest rank does
      times.push_back(worst);
    }
    // Gather the output rows to rank 0 in global order.
    const std::size_t row = static_cast<std::size_t>(hq * dv) * dtype_size(out.dtype());
    Tensor whole;
    if (rank == 0) whole = Tensor(out.dtype(), {B, N, hq, dv});
    for (int r = 0; r < ranks; ++r) {
      const std::vector<dist::Segment> rs = layout == dist::Layout::zigzag
          ? dist::zigzag_segments(N, ranks, r)
          : std::vector<dist::Segment>{{dist::even_split_start(N, ranks, r), 0, dist::even_split_start(N, ranks, r + 1) - dist::even_split_start(N, ranks, r)}};
      for (const auto& s : rs)
        for (std::int64_t b = 0; b < B; ++b) {
          const std::size_t bytes = static_cast<std::size_t>(s.length) * row;
          if (bytes == 0) continue;
          char* dst = rank == 0 ? static_cast<char*>(whole.data()) + static_cast<std::size_t>(b * N + s.global) * row : nullptr;
          if (r == rank && rank == 0) std::memcpy(dst, static_cast<const char*>(out.data()) + static_cast<std::size_t>(b * n + s.local) * row, bytes);
          else if (r == rank) MPI_Send(static_cast<const char*>(out.data()) + static_cast<std::size_t>(b * n + s.local) * row, static_cast<int>(bytes), MPI_BYTE, 0, 7, MPI_COMM_WORLD);
          else if (rank == 0) MPI_Recv(dst, static_cast<int>(bytes), MPI_BYTE, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    }
    if (rank == 0) {
      std::sort(times.begin(), times.end());
      const double med = times[times.size() / 2];
      const double flops = attention_flops(B, hq, N, N, q.dim(3), dv, opts);
      std::printf("ring: %d ranks, %s layout, N %lld, B %lld, Hq %lld, Hkv %lld, D %lld, %s%s: median %.4f s (min %.4f, max %.4f, %zu runs), %.2f GFLOP/s\n",
                  ranks, a.layout.c_str(), static_cast<long long>(N), static_cast<long long>(B), static_cast<long long>(hq),
                  static_cast<long long>(k.dim(2)), static_cast<long long>(q.dim(3)), dtype_name(q.dtype()).data(), a.causal ? ", causal" : "",
                  med, times.front(), times.back(), times.size(), flops / med * 1e-9);
      if (!a.out.empty()) write_npy(a.out, whole.view());
      if (a.check) {  // single-process kernel on the whole sequence
        if (random) {
          const std::vector<dist::Segment> all{{0, 0, N}};
          gq = random_rows(q.dtype(), B, hq, q.dim(3), all, N, N, a.seed);
          gk = random_rows(q.dtype(), B, k.dim(2), q.dim(3), all, N, N, a.seed + 1);
          gv = random_rows(q.dtype(), B, k.dim(2), dv, all, N, N, a.seed + 2);
        }
        Tensor ref(q.dtype(), {B, N, hq, dv});
        attention(gq.view(), gk.view(), gv.view(), ref.view(), opts);
        std::vector<float> x(static_cast<std::size_t>(ref.numel())), y(x.size());
        convert_to_f32(whole.data(), whole.dtype(), x.data(), x.size());
        convert_to_f32(ref.data(), ref.dtype(), y.data(), y.size());
        double num = 0, den = 0;
        for (std::size_t i = 0; i < x.size(); ++i) num += (x[i] - y[i]) * double(x[i] - y[i]), den += double(y[i]) * y[i];
        const double err = std::sqrt(num / std::max(den, 1e-300)), tol = q.dtype() == DType::f32 ? 1e-5 : 1e-2;
        std::printf("check against the single-process kernel: rel L2 %.3g (%s)\n", err, err <= tol ? "ok" : "FAIL");
        if (!(err <= tol)) rc = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attend sdpa-ring (rank %d): %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 2);  // the other ranks would wait forever in the ring
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return rc;
}

const bool kRegistered = register_command(
    "sdpa-ring", "Ring attention over MPI ranks (mpirun -np P attend sdpa-ring ...)", [](CLI::App& sub) {
      auto a = std::make_shared<RingArgs>();
      sub.add_option("--q", a->q, "query .npy [B, N, Hq, D] (each rank takes its rows)");
      sub.add_option("--k", a->k, "key .npy [B, N, Hkv, D]");
      sub.add_option("--v", a->v, "value .npy [B, N, Hkv, Dv]");
      sub.add_option("--random", a->random_n, "instead of files: a reproducible random N-token sequence");
      sub.add_option("--batch", a->batch, "random: batch")->check(CLI::PositiveNumber);
      sub.add_option("--heads", a->heads, "random: query heads")->check(CLI::PositiveNumber);
      sub.add_option("--kv-heads", a->kv_heads, "random: key/value heads (default: --heads)");
      sub.add_option("--dim", a->dim, "random: head width")->check(CLI::PositiveNumber);
      sub.add_option("--dtype", a->dtype, "random: f32, bf16 or f16");
      sub.add_option("--seed", a->seed, "random: seed");
      sub.add_option("--out", a->out, "rank 0 writes the whole output .npy");
      sub.add_option("--layout", a->layout, "contiguous or zigzag")->check(CLI::IsMember({"contiguous", "zigzag"}));
      sub.add_flag("--causal", a->causal, "causal mask");
      sub.add_option("--window", a->window, "L,R sliding window")->delimiter(',');
      sub.add_flag("--check", a->check, "rank 0 compares with the single-process kernel");
      sub.add_option("--repeat", a->repeat, "timed runs (median, min, max printed)")->check(CLI::PositiveNumber);
      sub.add_option("--threads", a->threads, "threads per rank (0: all)");
      return [a] { return run_ring(*a); };
    });

}  // namespace
}  // namespace attend::cli
#endif  // ATTEND_HAVE_MPI
