// attend bench --matvec: the weight products of one decoded token of a GPT-2-small-shaped model
// (12 layers × [768→2304, 768→768, 768→3072, 3072→768] plus the 768→50257 unembedding), stored
// f32 / bf16 / f16 / q8_0 / q4_0 / q4_K / q6_K, through kernels::matvec (what the model runtime
// runs), as ms per token and weight bytes per second against this machine's read bandwidth
// measured in the same run; f32 also through OpenBLAS sgemm with one row (what it ran before).
#include <cblas.h>

#include <ctime>
#include <map>
#include <utility>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bandwidth.h"
#include "bench/bench_modes.h"
#include "bench/bench_util.h"
#include "kernels/matvec.h"

namespace attend::bench {
namespace {

using I64 = std::int64_t;
using Clock = std::chrono::steady_clock;

struct Shape {
  I64 out, in;
};

std::vector<Shape> token_shapes() {
  std::vector<Shape> s;
  for (int l = 0; l < 12; ++l) {
    s.push_back({2304, 768});
    s.push_back({768, 768});
    s.push_back({3072, 768});
    s.push_back({768, 3072});
  }
  s.push_back({50257, 768});
  return s;
}

struct Matrix {
  std::vector<unsigned char> bytes;
  kernels::MatvecWeights w;
};

// Every matrix of one token, stored as `type` (random values quantized by the reference).
std::vector<Matrix> build(GgmlType type, const std::vector<Shape>& shapes) {
  std::vector<Matrix> ms;
  std::mt19937_64 g(7);
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  std::vector<float> row;
  for (const Shape& s : shapes) {
    Matrix m;
    const std::size_t rb = row_bytes(type, s.in);
    m.bytes.resize(rb * static_cast<std::size_t>(s.out));
    row.resize(static_cast<std::size_t>(s.in));
    for (I64 o = 0; o < s.out; ++o) {
      for (float& v : row) v = u(g);
      quantize_row(type, row.data(), m.bytes.data() + rb * static_cast<std::size_t>(o), s.in);
    }
    m.w.type = type;
    m.w.rows = s.out;
    m.w.cols = s.in;
    m.w.row_stride = rb;
    m.w.out_rows = true;
    ms.push_back(std::move(m));
  }
  for (Matrix& m : ms) m.w.data = m.bytes.data();  // after the moves
  return ms;
}

// Wall seconds per token (median of `runs`, after time_runs' warm-up) and CPU seconds per token
// (mean of `runs` more).
template <class Fn>
std::pair<double, double> time_token(int runs, Fn&& fn) {
  const Timing t = time_runs(runs, fn);
  const double c0 = process_cpu_seconds();
  for (int r = 0; r < runs; ++r) fn();
  return {t.median, (process_cpu_seconds() - c0) / runs};
}

int run(const BenchCommon& c) {
  const std::vector<Shape> shapes = token_shapes();
  std::vector<float> x(3072, 0.01f), y(50257);
  std::printf("# attend bench --matvec: one decoded token's weight products, GPT-2-small shape (%zu matrices)\n", shapes.size());
  std::printf("# isa %s; wall ms/token: median of %d runs; cpu: process CPU ms per token (all threads)\n",
              std::string(isa_name(active_isa())).c_str(), c.runs);
  std::map<int, double> bw;  // by thread count
  for (int t : c.threads) {
    bw[t] = measure_read_bandwidth_gbs(t);
    std::printf("# measured read bandwidth, %d thread(s): %.1f GB/s\n", t, bw[t]);
  }
  std::printf("%-6s %-16s %3s %10s %8s %9s %8s\n", "type", "path", "thr", "ms/token", "cpu ms", "GB/s", "% read");
  const GgmlType types[] = {GgmlType::f32, GgmlType::bf16, GgmlType::f16, GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K};
  const int before = num_threads();
  for (GgmlType type : types) {
    const std::vector<Matrix> ms = build(type, shapes);
    double bytes = 0;
    for (const Matrix& m : ms) bytes += static_cast<double>(m.bytes.size());
    for (int t : c.threads) {
      set_num_threads(t);
      const double b = bw[t];
      const auto [s, cpu] = time_token(c.runs, [&] {
        for (const Matrix& m : ms) kernels::matvec(m.w, x.data(), 1, y.data());
      });
      std::printf("%-6s %-16s %3d %10.2f %8.2f %9.1f %7.0f%%\n", std::string(ggml_type_name(type)).c_str(), "matvec", t, s * 1e3, cpu * 1e3,
                  bytes / s / 1e9, 100.0 * bytes / s / 1e9 / b);
      if (type == GgmlType::f32) {
        openblas_set_num_threads(t);
        const auto [sg, cpu_sg] = time_token(c.runs, [&] {
          for (const Matrix& m : ms)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, static_cast<int>(m.w.rows), static_cast<int>(m.w.cols), 1.0f, x.data(),
                        static_cast<int>(m.w.cols), static_cast<const float*>(m.w.data), static_cast<int>(m.w.cols), 0.0f, y.data(),
                        static_cast<int>(m.w.rows));
        });
        std::printf("%-6s %-16s %3d %10.2f %8.2f %9.1f %7.0f%%\n", "f32", "openblas sgemm", t, sg * 1e3, cpu_sg * 1e3, bytes / sg / 1e9,
                    100.0 * bytes / sg / 1e9 / b);
      }
    }
  }
  set_num_threads(before);
  return 0;
}

const bool registered = register_bench_mode(
    "--matvec", "decode's weight products (GPT-2-small shapes, every stored type) against the read bandwidth and OpenBLAS", run);

}  // namespace
}  // namespace attend::bench
