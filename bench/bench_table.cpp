// attend bench --table: every case of the correctness tables (src/kernels/attention_cases.h, the
// cases ForwardTable and BackwardTable check against the double reference) timed on this machine,
// GFLOP/s per case under the project's FLOP convention (the backward counts 2.5x the forward).
// One description drives both the check and the timing, as ggml's test-backend-ops does.
#include <cstdio>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "kernels/attention_cases.h"

namespace attend::bench {
namespace {

using kernels::AttentionCase;
using kernels::CaseInputs;

std::string shape_of(const AttentionCase& c) {  // (snprintf: GCC 12 warns falsely on chained string +)
  char buf[96];
  std::snprintf(buf, sizeof buf, "%ldx%ldx%ld H%ld/%ld D%ld/%ld", static_cast<long>(c.b), static_cast<long>(c.nq),
                static_cast<long>(c.nk), static_cast<long>(c.hq), static_cast<long>(c.hkv), static_cast<long>(c.d),
                static_cast<long>(c.dv));
  return buf;
}

// Seconds per call (median of runs) of the forward, or of the backward from the forward's out/lse.
Timing time_case(const AttentionCase& c, bool backward, int threads, int runs) {
  CaseInputs in(c, 1);
  AttentionOptions opts = in.opts;
  opts.threads = threads;
  Tensor out = in.new_out(), lse = in.new_lse();
  const TensorView q = in.view(in.q), k = in.view(in.k), v = in.view(in.v), o = in.view(out);
  if (!backward) return time_runs(runs, [&] { attention(q, k, v, o, opts, lse.view()); });
  attention(q, k, v, o, opts, lse.view());
  Tensor dq = in.tensor(c.rows_q(), c.hq, c.d), dk = in.tensor(c.rows_k(), c.hkv, c.d), dv = in.tensor(c.rows_k(), c.hkv, c.dv), db;
  AttentionGrads g{in.view(dq), in.view(dk), in.view(dv), {}};
  if (c.bias) {
    db = Tensor(DType::f32, in.bias.view().shape, 4);
    g.dbias = db.view();
  }
  return time_runs(runs, [&] { attention_backward(q, k, v, o, in.view(in.dout), lse.view(), g, opts); });
}

constexpr double kQuickFlops = 2e8;  // --quick (smoke test): only the cases below this many FLOPs

int run_table_bench(const BenchCommon& c) {
  std::printf("# attend bench --table — isa %s, runs %d (median); cases of src/kernels/attention_cases.h\n",
              std::string(isa_name(active_isa())).c_str(), c.runs);
  std::printf("%-4s %-34s %-5s %-24s %3s | %10s %9s\n", "pass", "case", "dtype", "B x Nq x Nk, heads, D", "thr", "GFLOP/s",
              "ms/call");
  for (const bool backward : {false, true})
    for (const AttentionCase& ac : backward ? kernels::backward_cases() : kernels::forward_cases())
      for (int t : c.threads) {
        const double flops = backward ? ac.backward_flops() : ac.forward_flops();
        if (c.quick && flops > kQuickFlops) continue;
        const Timing tm = time_case(ac, backward, t, c.runs);
        std::printf("%-4s %-34s %-5s %-24s %3d | %10.2f %9.3f\n", backward ? "bwd" : "fwd", ac.name.c_str(),
                    std::string(dtype_name(ac.dtype)).c_str(), shape_of(ac).c_str(), t, flops / tm.median / 1e9, tm.median * 1e3);
        std::fflush(stdout);
      }
  std::printf("# GFLOP/s = attention_flops of the case (only visible pairs; ragged: per sequence) / median time;\n"
              "# bwd = attention_backward, FLOPs 2.5x the forward's\n");
  return 0;
}

const bool registered = register_bench_mode("--table", "time every case of the forward and backward correctness tables", run_table_bench);

}  // namespace
}  // namespace attend::bench
