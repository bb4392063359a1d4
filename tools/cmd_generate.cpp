// attend generate: continues a prompt with a model (a Hugging Face folder or an attend checkpoint),
// streaming tokens as they are chosen.
#include <cstdio>
#include <string>

#include "attend/attend.h"
#include "command.h"
#include "core/check.h"

namespace attend::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, stop;
  nn::Model::GenerateOptions opts;
  bool no_cache = false;
  int threads = 0;
};

int run_generate(const GenerateArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  const nn::Model model = nn::Model::load(a.model);
  const std::vector<std::int32_t> prompt = model.encode(a.prompt);
  nn::Model::GenerateOptions o = a.opts;
  o.use_cache = !a.no_cache;
  if (!a.stop.empty()) {
    const auto st = model.encode(a.stop);
    if (st.size() != 1) detail::fail("generate", "--stop must be one token, got '", a.stop, "'");
    o.stop_token = st[0];
  }
  std::printf("%s", a.prompt.c_str());
  std::fflush(stdout);
  model.generate(prompt, o, [&](std::int32_t t) {
    std::printf("%s", model.decode_token(t).c_str());
    std::fflush(stdout);  // streaming: each token as soon as it is chosen
    return true;
  });
  std::printf("\n");
  return 0;
}

const bool registered = register_command("generate", "continue a prompt with a model (Hugging Face folder or attend checkpoint)", [](CLI::App& sub) {
  auto a = std::make_shared<GenerateArgs>();
  sub.add_option("--model", a->model,
                 "Hugging Face folder (config.json + safetensors: gpt2, llama, mistral, qwen2) or attend checkpoint")->required();
  sub.add_option("--prompt", a->prompt, "prompt text (bytes for text models and, until tokenizers land, for loaded checkpoints; letters a.. and '|' for task models)")->required();
  sub.add_option("--max-new", a->opts.max_new_tokens, "tokens to generate at most")->capture_default_str();
  sub.add_option("--temperature", a->opts.temperature, "0: greedy")->capture_default_str();
  sub.add_option("--top-k", a->opts.top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  sub.add_option("--top-p", a->opts.top_p, "nucleus sampling mass (1: off)")->capture_default_str();
  sub.add_option("--seed", a->opts.seed, "sampling seed")->capture_default_str();
  sub.add_option("--stop", a->stop, "stop after emitting this token");
  sub.add_flag("--no-cache", a->no_cache, "recompute the whole sequence per token instead of using the KV cache");
  sub.add_option("--threads", a->threads, "worker threads (0: all cores)");
  return [a] { return run_generate(*a); };
});

}  // namespace
}  // namespace attend::cli
