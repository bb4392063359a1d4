// attend bench --prefill / --generate / --train / --machine: the model runtime at real sizes, as
// bench/scripts/runtime_peers.py compares it with llama.cpp and torch (issue 24). Each prints, per
// thread count, tokens/s (median, min–max of --runs), GFLOP/s or GB/s from bench/runtime_counts.h,
// and the fraction of this machine's FMA peak or read bandwidth measured in the same run (before
// the runs and again after them; the larger counts; --no-instruments skips them, as the driver
// does, which measures them once at its start and end). --json: one JSON line per thread count.
//   --prefill  --file M.gguf --tokens T        T prompt tokens into an empty cache (nn::Decoder::step)
//   --generate --file M.gguf --tokens C --new-tokens n   prefill C − n tokens (untimed), then n
//              greedy one-token steps timed: the context reaches C (a 64-token prefill and two steps warm up)
//   --train    --shape train-6x256 --text FILE --batch B --steps S   AdamW steps on byte-level text
//   --machine  the instruments alone
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "attend/gguf.h"
#include "bench/bandwidth.h"
#include "bench/bench_modes.h"
#include "bench/naive_sdpa.h"
#include "bench/peak.h"
#include "bench/runtime_counts.h"
#include "bench/runtime_gguf.h"
#include "core/check.h"

namespace attend::bench {
namespace {

using I64 = std::int64_t;
using Clock = std::chrono::steady_clock;

struct Summary {
  double median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  s += ']';
  return s;
}

std::string shape_json(const RuntimeShape& s) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), R"("layers":%ld,"d_model":%ld,"heads":%ld,"kv_heads":%ld,"d_ff":%ld,"vocab":%ld,"swiglu":%s)",
                static_cast<long>(s.layers), static_cast<long>(s.d_model), static_cast<long>(s.heads), static_cast<long>(s.kv_heads),
                static_cast<long>(s.d_ff), static_cast<long>(s.vocab), s.swiglu ? "true" : "false");
  return buf;
}

RuntimeShape shape_of(const nn::ModelConfig& c, const std::string& name) {
  return {name, c.layers, c.d_model, c.heads, c.kv_heads, c.d_ff, c.vocab, c.context, c.mlp == nn::MlpKind::swiglu};
}

// The instruments, unless --no-instruments (then 0: fractions print as null / n/a).
double peak_gflops(const BenchCommon& c, int t) { return c.no_instruments ? 0.0 : measure_fma_peak_gflops(t, active_isa()); }
double read_bw_gbs(const BenchCommon& c, int t) { return c.no_instruments ? 0.0 : measure_read_bandwidth_gbs(t); }

std::string fraction_json(double x, double limit) {
  if (!(limit > 0)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.5f", x / limit);
  return buf;
}

std::string percent(double x, double limit) {  // "42.0 %" or "n/a" without the instrument
  if (!(limit > 0)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", 100 * x / limit);
  return buf;
}

void use_threads(int t) {
  set_num_threads(t);
  set_blas_threads(t);  // f32 products may run in OpenBLAS
}

std::vector<std::int32_t> bench_prompt(I64 n, I64 vocab, double* sum) {
  std::vector<std::int32_t> p(static_cast<std::size_t>(n));
  *sum = 0;
  for (I64 i = 0; i < n; ++i) *sum += p[static_cast<std::size_t>(i)] = bench_token(i, vocab);
  return p;
}

std::int32_t argmax_last(const Tensor& logits) {
  const I64 V = logits.dim(1);
  const float* row = logits.data_as<float>() + (logits.dim(0) - 1) * V;
  return static_cast<std::int32_t>(std::max_element(row, row + V) - row);
}

std::string weight_format(const std::string& path) {
  return std::string(ggml_type_name(gguf::File::open(path).tensor("blk.0.attn_q.weight").type));
}

struct Loaded {
  nn::Model model;
  RuntimeShape shape;
  std::string weights;
};

Loaded load(const BenchCommon& c, const char* mode) {
  if (c.file.empty()) detail::fail(mode, "--file MODEL.gguf is required");
  nn::Model m = nn::Model::load(c.file, {.bf16_activations = c.bf16_activations});
  RuntimeShape s = shape_of(m.config(), c.file);
  return {std::move(m), s, weight_format(c.file)};
}

int run_prefill(const BenchCommon& c) {
  Loaded L = load(c, "bench --prefill");
  const RuntimeShape& s = L.shape;
  const I64 T = c.tokens;
  if (T > s.context) detail::fail("bench --prefill", "--tokens ", T, " exceeds the model's context ", s.context);
  double token_sum = 0;
  const std::vector<std::int32_t> prompt = bench_prompt(T, s.vocab, &token_sum);
  const double flops = prefill_flops(s, T, 1), flops_done = flops;  // step_last: the last row's logits, as the peers
  for (int t : c.threads) {
    use_threads(t);
    double peak = peak_gflops(c, t);
    // One decoder, reset before each run, as llama.cpp's peer clears its sequence in a context made
    // once: the warm-up prefill pages in every weight (mmap), starts the pool and sizes the cache
    // and activation buffers (llama.cpp allocates its KV cache and compute buffers when the
    // context is created, before any timing).
    nn::Decoder d(L.model);
    d.step_last(prompt);
    std::vector<double> secs;
    for (int r = 0; r < c.runs; ++r) {
      d.reset();
      const auto t0 = Clock::now();
      d.step_last(prompt);
      secs.push_back(seconds_since(t0));
    }
    peak = std::max(peak, peak_gflops(c, t));
    const Summary st = summarize(secs);
    const double tps = static_cast<double>(T) / st.median, gflops = flops / st.median / 1e9;
    if (c.format == "json") {
      std::printf(R"({"peer":"attend","workload":"prefill","file":"%s","weights":"%s",%s,"threads":%d,"tokens":%ld,"token_sum":%.0f,)"
                  R"("runs_s":%s,"tokens_per_s":%.3f,"tokens_per_s_min":%.3f,"tokens_per_s_max":%.3f,"flops":%.6e,"flops_done":%.6e,)"
                  R"("gflops":%.3f,"fma_peak_gflops":%.3f,"peak_fraction":%s,"logit_rows":%ld,"isa":"%s","bf16_activations":%s})"
                  "\n",
                  c.file.c_str(), L.weights.c_str(), shape_json(s).c_str(), t, static_cast<long>(T), token_sum, json_list(secs).c_str(), tps,
                  static_cast<double>(T) / st.max, static_cast<double>(T) / st.min, flops, flops_done, gflops, peak, fraction_json(gflops, peak).c_str(),
                  static_cast<long>(T), std::string(isa_name(active_isa())).c_str(), c.bf16_activations ? "true" : "false");
    } else {
      std::printf("prefill %s (%s%s), %ld tokens, threads %d: %9.1f tokens/s (%.1f-%.1f), %7.1f GFLOP/s = %s of the FMA peak %.1f "
                  "(the last row's logits only)\n",
                  c.file.c_str(), L.weights.c_str(), c.bf16_activations ? ", bf16 activations" : "", static_cast<long>(T), t, tps,
                  static_cast<double>(T) / st.max, static_cast<double>(T) / st.min, gflops, percent(gflops, peak).c_str(), peak);
    }
    std::fflush(stdout);
  }
  return 0;
}

// --sequences S ...: S sequences decoded together through nn::BatchDecoder (each fed the prompt,
// untimed), then n batched steps timed: tokens/s counts every sequence's tokens; the weights are
// read once per step for all S, so GB/s is weight bytes × steps/s.
void print_batched_decode(const BenchCommon& c, Loaded& L, const std::vector<std::int32_t>& prompt, int t, double bw, double wbytes,
                          DType kv) {
  const I64 n = c.new_tokens;
  for (const I64 S : c.sequences) {
    if (S < 2) continue;  // one sequence: the Decoder line this mode prints anyway
    std::vector<double> secs;
    for (int r = 0; r < c.runs; ++r) {
      nn::BatchDecoder d(L.model, S, kv);
      std::vector<std::int32_t> next(static_cast<std::size_t>(S));
      for (I64 q = 0; q < S; ++q) next[static_cast<std::size_t>(q)] = argmax_last(d.feed(q, prompt));  // untimed prefill
      const auto t0 = Clock::now();
      for (I64 i = 0; i < n; ++i) {
        const Tensor logits = d.step(next);
        const I64 V = logits.dim(1);
        for (I64 q = 0; q < S; ++q) {
          const float* row = logits.data_as<float>() + q * V;
          next[static_cast<std::size_t>(q)] = static_cast<std::int32_t>(std::max_element(row, row + V) - row);
        }
      }
      secs.push_back(seconds_since(t0));
    }
    const Summary st = summarize(secs);
    const double steps = static_cast<double>(n) / st.median, gbs = wbytes * steps / 1e9;
    if (c.format == "json") {
      std::printf(R"({"peer":"attend","workload":"decode_batch","file":"%s","weights":"%s","threads":%d,"sequences":%ld,"prompt":%zu,)"
                  R"("new_tokens":%ld,"kv_cache":"%s","runs_s":%s,"tokens_per_s":%.4f,"steps_per_s":%.4f,"gbs":%.3f,"read_bw_gbs":%.3f,"bw_fraction":%s})"
                  "\n",
                  c.file.c_str(), L.weights.c_str(), t, static_cast<long>(S), prompt.size(), static_cast<long>(n), c.kv_cache.c_str(),
                  json_list(secs).c_str(),
                  steps * static_cast<double>(S), steps, gbs, bw, fraction_json(gbs, bw).c_str());
    } else {
      std::printf("decode %s (%s), %ld sequences together (BatchDecoder), prompt %zu + %ld timed steps, threads %d: %8.2f tokens/s "
                  "(%.2f steps/s), weights %.1f GB/s = %s of the read bandwidth %.1f GB/s (%s KV cache)\n",
                  c.file.c_str(), L.weights.c_str(), static_cast<long>(S), prompt.size(), static_cast<long>(n), t,
                  steps * static_cast<double>(S), steps, gbs, percent(gbs, bw).c_str(), bw, c.kv_cache.c_str());
    }
  }
}

int run_generate(const BenchCommon& c) {
  Loaded L = load(c, "bench --generate");
  const RuntimeShape& s = L.shape;
  const I64 C = c.tokens, n = c.new_tokens, P = C - n;
  if (P < 1 || C > s.context)
    detail::fail("bench --generate", "--tokens ", C, " must exceed --new-tokens ", n, " and fit the model's context ", s.context);
  double token_sum = 0;
  const std::vector<std::int32_t> prompt = bench_prompt(P, s.vocab, &token_sum);
  const double wbytes = decode_weight_bytes(s, weight_format_bytes(L.weights));
  const DType kv = c.kv_cache == "f16" ? DType::f16 : c.kv_cache == "bf16" ? DType::bf16 : DType::f32;
  const double kvbytes = decode_kv_bytes(s, P + (n - 1) / 2, static_cast<double>(dtype_size(kv)));  // at the mean timed position
  const bool int8_before = int8_activations();
  set_int8_activations(!c.exact_q8);
  for (int t : c.threads) {
    use_threads(t);
    double bw = read_bw_gbs(c, t);
    std::vector<double> secs;
    std::vector<std::int32_t> first;
    {  // warm-up: a short prefill pages in every weight (mmap), then two one-token steps
      nn::Decoder d(L.model, kv);
      std::int32_t tok = argmax_last(d.step_last(Span<const std::int32_t>(prompt.data(), std::min<std::size_t>(prompt.size(), 64))));
      for (int i = 0; i < 2; ++i) tok = argmax_last(d.step_last(Span<const std::int32_t>(&tok, 1)));
    }
    for (int r = 0; r < c.runs; ++r) {
      nn::Decoder d(L.model, kv);
      d.reserve(C);  // the caches sized for the context up front: no growth (a copy of them) inside the timed steps
      std::int32_t tok = argmax_last(d.step_last(prompt));  // untimed prefill
      std::vector<std::int32_t> out{tok};
      const auto t0 = Clock::now();
      for (I64 i = 0; i < n; ++i) out.push_back(tok = argmax_last(d.step_last(Span<const std::int32_t>(&tok, 1))));
      secs.push_back(seconds_since(t0));
      if (r == 0) first = out;
    }
    bw = std::max(bw, read_bw_gbs(c, t));
    print_batched_decode(c, L, prompt, t, bw, wbytes, kv);
    const Summary st = summarize(secs);
    const double tps = static_cast<double>(n) / st.median, gbs = wbytes * tps / 1e9;
    if (c.format == "json") {
      std::vector<double> head(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(first.size(), 8)));
      std::string toks = "[";
      for (std::size_t i = 0; i < head.size(); ++i) {
        if (i) toks += ',';
        toks += std::to_string(static_cast<long>(head[i]));
      }
      toks += ']';
      std::printf(R"({"peer":"attend","workload":"decode","file":"%s","weights":"%s",%s,"threads":%d,"prompt":%ld,"new_tokens":%ld,"token_sum":%.0f,)"
                  R"("runs_s":%s,"tokens_per_s":%.4f,"tokens_per_s_min":%.4f,"tokens_per_s_max":%.4f,"weight_bytes_per_token":%.6e,)"
                  R"("kv_bytes_per_token":%.6e,"kv_cache":"%s","q8_activations":"%s","gbs":%.3f,"read_bw_gbs":%.3f,"bw_fraction":%s,"first_tokens":%s,"isa":"%s"})"
                  "\n",
                  c.file.c_str(), L.weights.c_str(), shape_json(s).c_str(), t, static_cast<long>(P), static_cast<long>(n), token_sum,
                  json_list(secs).c_str(), tps, static_cast<double>(n) / st.max, static_cast<double>(n) / st.min, wbytes, kvbytes, c.kv_cache.c_str(),
                  c.exact_q8 ? "f32" : "int8", gbs, bw,
                  fraction_json(gbs, bw).c_str(), toks.c_str(), std::string(isa_name(active_isa())).c_str());
    } else {
      std::printf("decode %s (%s), prompt %ld + %ld timed tokens, threads %d: %8.2f tokens/s (%.2f-%.2f), weights %.1f GB/s = %s of "
                  "the read bandwidth %.1f GB/s (+ %.2f MB of %s KV cache per token%s)\n",
                  c.file.c_str(), L.weights.c_str(), static_cast<long>(P), static_cast<long>(n), t, tps, static_cast<double>(n) / st.max,
                  static_cast<double>(n) / st.min, gbs, percent(gbs, bw).c_str(), bw, kvbytes / 1e6, c.kv_cache.c_str(),
                  L.weights == "q8_0" ? (c.exact_q8 ? ", f32 activations" : ", int8 activations") : "");
    }
    std::fflush(stdout);
  }
  set_int8_activations(int8_before);
  return 0;
}

nn::ModelConfig train_config(const RuntimeShape& s) {
  nn::ModelConfig m;  // GPT-2 style (the defaults): LayerNorm, learned positions, GELU, tied, biases
  m.vocab = s.vocab;
  m.context = s.context;
  m.d_model = s.d_model;
  m.layers = s.layers;
  m.heads = s.heads;
  m.kv_heads = s.kv_heads;
  m.d_ff = s.d_ff;
  return m;
}

int run_train(const BenchCommon& c) {
  const RuntimeShape s = shape_named(c.shape, "bench --train");
  if (s.swiglu || s.vocab != 256) detail::fail("bench --train", "--shape ", s.name, " is not a byte-level training shape (train-6x256, train-4x128)");
  if (c.text.empty()) detail::fail("bench --train", "--text FILE (byte-level training text) is required");
  nn::Model model(train_config(s), 1);
  const nn::TaskData data(nn::Task::text, s.vocab, s.context, c.text);
  const double flops_per_token = train_flops_per_token(s, s.context);
  const double tokens_per_step = static_cast<double>(c.batch * s.context);
  for (int t : c.threads) {
    use_threads(t);
    double peak = peak_gflops(c, t);
    nn::TrainConfig tc;
    tc.steps = 1 + c.runs * c.steps + 1;
    tc.batch = c.batch;
    tc.warmup = 1;
    nn::Trainer tr(model, data, tc);
    tr.step();  // warm-up: allocations, page faults, optimizer state
    std::vector<double> secs;
    double loss = 0;
    for (int r = 0; r < c.runs; ++r) {
      const auto t0 = Clock::now();
      for (I64 k = 0; k < c.steps; ++k) loss = tr.step();
      secs.push_back(seconds_since(t0));
    }
    peak = std::max(peak, peak_gflops(c, t));
    const Summary st = summarize(secs);
    const double tokens = tokens_per_step * static_cast<double>(c.steps), tps = tokens / st.median;
    const double gflops = flops_per_token * tps / 1e9;
    if (c.format == "json") {
      std::printf(R"({"peer":"attend","workload":"train","shape":"%s",%s,"context":%ld,"threads":%d,"batch":%ld,"steps":%ld,"runs_s":%s,)"
                  R"("tokens_per_s":%.3f,"tokens_per_s_min":%.3f,"tokens_per_s_max":%.3f,"flops_per_token":%.6e,"gflops":%.3f,)"
                  R"("fma_peak_gflops":%.3f,"peak_fraction":%s,"last_loss":%.4f,"isa":"%s"})"
                  "\n",
                  s.name.c_str(), shape_json(s).c_str(), static_cast<long>(s.context), t, static_cast<long>(c.batch), static_cast<long>(c.steps),
                  json_list(secs).c_str(), tps, tokens / st.max, tokens / st.min, flops_per_token, gflops, peak, fraction_json(gflops, peak).c_str(), loss,
                  std::string(isa_name(active_isa())).c_str());
    } else {
      std::printf("train %s, batch %ld x %ld tokens, %ld steps/run, threads %d: %8.0f tokens/s (%.0f-%.0f), %6.1f model GFLOP/s = %s "
                  "of the FMA peak %.1f, loss %.3f\n",
                  s.name.c_str(), static_cast<long>(c.batch), static_cast<long>(s.context), static_cast<long>(c.steps), t, tps,
                  tokens / st.max, tokens / st.min, gflops, percent(gflops, peak).c_str(), peak, loss);
    }
    std::fflush(stdout);
  }
  return 0;
}

int run_machine(const BenchCommon& c) {
  for (int t : c.threads) {
    const double fma = measure_fma_peak_gflops(t, active_isa()), bf16 = measure_bf16_peak_gflops(t), bw = measure_read_bandwidth_gbs(t);
    if (c.format == "json")
      std::printf(R"({"peer":"machine","threads":%d,"fma_peak_gflops":%.3f,"bf16_peak_gflops":%.3f,"read_bw_gbs":%.3f,"isa":"%s"})" "\n", t, fma,
                  bf16, bw, std::string(isa_name(active_isa())).c_str());
    else
      std::printf("threads %d: FMA peak %.1f GFLOP/s (f32, %s), bf16 dot peak %.1f GFLOP/s, read bandwidth %.1f GB/s\n", t, fma,
                  std::string(isa_name(active_isa())).c_str(), bf16, bw);
    std::fflush(stdout);
  }
  return 0;
}

const bool registered_prefill = register_bench_mode(
    "--prefill", "time a GGUF model's prefill (--file, --tokens): tokens/s, GFLOP/s and % of the measured FMA peak", run_prefill, true);
const bool registered_generate = register_bench_mode(
    "--generate", "time a GGUF model's decoding (--file, --tokens context, --new-tokens): tokens/s, weight GB/s and % of the read bandwidth",
    run_generate, true);
const bool registered_train = register_bench_mode(
    "--train", "time training on byte-level text (--shape train-6x256|train-4x128, --text, --batch, --steps): tokens/s, model GFLOP/s",
    run_train, true);
const bool registered_machine =
    register_bench_mode("--machine", "measure the instruments only: FMA peak, bf16 peak and read bandwidth per thread count", run_machine, true);

}  // namespace
}  // namespace attend::bench
