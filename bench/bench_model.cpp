// attend bench --model: the model runtime end to end. Training tokens/s of a 6-layer, 256-wide,
// 8-head GPT-2-style model at context 256 (induction task, vocab 256), with the share of the step
// spent in attend's attention kernels (forward + backward) from the trainer's phase timers; and
// generation tokens/s with the KV cache (attend::KVCache + attend::decode) against recomputing the
// whole sequence for every new token, the two interleaved run by run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "bench/bench_modes.h"
#include "bench/naive_sdpa.h"

namespace attend::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

nn::ModelConfig bench_config() {
  nn::ModelConfig c;
  c.vocab = 256;
  c.context = 256;
  c.d_model = 256;
  c.layers = 6;
  c.heads = 8;
  c.kv_heads = 8;
  c.d_ff = 1024;
  return c;
}

// One run = `steps` optimizer steps of batch sequences of 256 tokens; returns tokens/s and fills
// the attention share of that run.
double train_run(nn::Model& model, const nn::TaskData& data, std::int64_t batch, std::int64_t steps, double* attn_share,
                 double* fwd_share, double* bwd_share) {
  nn::TrainConfig tc;
  tc.steps = steps + 1;  // the first step warms up (allocations, page faults) and is not timed
  tc.batch = batch;
  tc.warmup = 1;
  nn::Trainer tr(model, data, tc);
  tr.step();
  tr.reset_phase_times();
  const auto t0 = Clock::now();
  for (std::int64_t s = 0; s < steps; ++s) tr.step();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const nn::PhaseTimes& p = tr.phase_times();
  *attn_share = (p.attention_forward + p.attention_backward) / p.total();
  *fwd_share = p.forward / p.total();
  *bwd_share = p.backward / p.total();
  return static_cast<double>(steps * batch * model.config().context) / secs;
}

int run_model_bench(const BenchCommon& c) {
  const nn::ModelConfig cfg = bench_config();
  const std::int64_t batch = c.quick ? 2 : 4, steps = c.quick ? 1 : 3, prompt_len = 128;
  const std::int64_t new_tokens = c.quick ? 16 : 64;
  std::printf("# attend bench --model — isa %s, L=%ld E=%ld H=%ld F=%ld V=%ld, context %ld, runs %d (median, min–max)\n",
              std::string(isa_name(active_isa())).c_str(), static_cast<long>(cfg.layers), static_cast<long>(cfg.d_model),
              static_cast<long>(cfg.heads), static_cast<long>(cfg.d_ff), static_cast<long>(cfg.vocab),
              static_cast<long>(cfg.context), c.runs);
  nn::Model model(cfg, 1);
  const nn::TaskData data(nn::Task::induction, cfg.vocab, cfg.context);
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(prompt_len));
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<std::int32_t>((i * 37 + 11) % 255);
  for (int t : c.threads) {
    set_num_threads(t);
    set_blas_threads(t);  // the dense products run in OpenBLAS
    // Training: `runs` runs of `steps` steps each (batch x 256 tokens per step).
    std::vector<double> tps, attn, fwd, bwd;
    for (int r = 0; r < c.runs; ++r) {
      double a = 0, f = 0, b = 0;
      tps.push_back(train_run(model, data, batch, steps, &a, &f, &b));
      attn.push_back(a);
      fwd.push_back(f);
      bwd.push_back(b);
    }
    const Stats st = stats(tps), sa = stats(attn), sf = stats(fwd), sb = stats(bwd);
    std::printf("train   threads %d, batch %ld x %ld tokens, %ld steps/run: %8.0f tokens/s (%.0f–%.0f); attention kernels %.1f %% of the step "
                "(%.1f–%.1f), forward %.1f %%, backward %.1f %%, data + optimizer %.1f %%\n",
                t, static_cast<long>(batch), static_cast<long>(cfg.context), static_cast<long>(steps), st.median, st.min, st.max,
                100 * sa.median, 100 * sa.min, 100 * sa.max, 100 * sf.median, 100 * sb.median, 100 * (1 - sf.median - sb.median));
    std::fflush(stdout);
    // Generation: greedy, prompt 128 tokens, then 64 new ones; cached and recomputed runs
    // alternate so both see the same machine load. tokens/s counts the new tokens (prefill included in the time).
    nn::Model::GenerateOptions g;
    g.temperature = 0;
    g.max_new_tokens = new_tokens;
    std::vector<double> cached, recomputed, ratio;
    for (int r = 0; r < c.runs + 1; ++r) {
      double tps_run[2] = {0, 0};
      std::vector<std::int32_t> outs[2];
      for (int k = 0; k < 2; ++k) {
        g.use_cache = k == 0;
        const auto t0 = Clock::now();
        outs[k] = model.generate(prompt, g);
        tps_run[k] = static_cast<double>(outs[k].size()) / std::chrono::duration<double>(Clock::now() - t0).count();
      }
      if (outs[0] != outs[1]) {
        std::printf("generate: the cached and recomputed paths chose different tokens\n");
        return 1;
      }
      if (r == 0) continue;  // warm-up
      cached.push_back(tps_run[0]);
      recomputed.push_back(tps_run[1]);
      ratio.push_back(tps_run[0] / tps_run[1]);
    }
    const Stats sc = stats(cached), sr = stats(recomputed), rr = stats(ratio);
    std::printf("generate threads %d, prompt %ld + %ld new tokens: KV cache %8.1f tokens/s (%.1f–%.1f), recompute %7.1f tokens/s "
                "(%.1f–%.1f), same-run ratio %.1fx (%.1f–%.1f)\n",
                t, static_cast<long>(prompt_len), static_cast<long>(new_tokens), sc.median, sc.min, sc.max, sr.median, sr.min,
                sr.max, rr.median, rr.min, rr.max);
    std::fflush(stdout);
  }
  return 0;
}

const bool registered = register_bench_mode(
    "--model", "benchmark the model runtime: training tokens/s (attention share) and generation with vs without the KV cache",
    run_model_bench);

}  // namespace
}  // namespace attend::bench
