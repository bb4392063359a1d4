// attend generate: continues a prompt with a model (a Hugging Face folder, a GGUF file or an attend
// checkpoint), streaming the text of each token as it is chosen.
#include <cstdio>
#include <string>

#include "attend/attend.h"
#include "cli_paths.h"
#include "command.h"
#include "core/printable.h"
#include "core/check.h"

namespace attend::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, stop;
  nn::Model::GenerateOptions opts;
  bool no_cache = false, ignore_eos = false, allow_nonfinite = false;
  int threads = 0;
};

// Streams bytes to the terminal as they come: whole UTF-8 characters pass, control characters
// and invalid bytes are shown escaped (a model's output must not drive the terminal); new lines
// and tabs are kept. An incomplete character waits for its next bytes.
class SafeStream {
 public:
  void put(const std::string& bytes) {
    pending_ += bytes;
    std::size_t cut = pending_.size();  // hold back the start of a character that may continue
    for (std::size_t k = 1; k <= 3 && k <= pending_.size(); ++k) {
      const auto c = static_cast<unsigned char>(pending_[pending_.size() - k]);
      if ((c & 0xC0) == 0x80) continue;
      const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (need > k) cut = pending_.size() - k;
      break;
    }
    emit(pending_.substr(0, cut));
    pending_.erase(0, cut);
  }
  void flush() {
    emit(pending_);
    pending_.clear();
  }

 private:
  static void emit(const std::string& s) {
    std::size_t b = 0;
    for (std::size_t i = 0; i <= s.size(); ++i)
      if (i == s.size() || s[i] == '\n' || s[i] == '\t') {
        std::fputs(printable(std::string_view(s).substr(b, i - b)).c_str(), stdout);
        if (i < s.size()) std::fputc(s[i], stdout);
        b = i + 1;
      }
    std::fflush(stdout);  // streaming: each token as soon as it is chosen
  }
  std::string pending_;
};

int run_generate(const GenerateArgs& a) {
  PathCheck("generate").model("--model", a.model).check();
  require_positive("generate", "--max-new", a.opts.max_new_tokens);
  if (a.threads > 0) set_num_threads(a.threads);
  const nn::Model model = nn::Model::load(a.model, {.allow_nonfinite = a.allow_nonfinite});
  const std::vector<std::int32_t> prompt = model.encode(a.prompt);
  nn::Model::GenerateOptions o = a.opts;
  o.use_cache = !a.no_cache;
  if (!a.stop.empty()) {
    const auto st = model.encode(a.stop, false);
    if (st.size() != 1) detail::fail("generate", "--stop must be one token, got '", a.stop, "'");
    o.stop_token = st[0];
  } else if (!a.ignore_eos) {
    o.stop_token = model.eos_token();  // a tokenizer's end of sequence ends the text (-1: none)
  }
  SafeStream out;
  out.put(a.prompt);
  model.generate(prompt, o, [&](std::int32_t t) {
    out.put(model.decode_token(t));
    return true;
  });
  out.flush();
  std::printf("\n");
  return 0;
}

const bool registered = register_command("generate", "continue a prompt with a model (Hugging Face folder or attend checkpoint)", [](CLI::App& sub) {
  auto a = std::make_shared<GenerateArgs>();
  sub.add_option("--model", a->model,
                 "Hugging Face folder (config.json + safetensors: gpt2, llama, mistral, qwen2) or attend checkpoint")->required();
  sub.add_option("--prompt", a->prompt, "prompt text (the checkpoint's tokenizer; bytes for attend's text models; letters a.. and '|' for task models)")->required();
  sub.add_option("--max-new", a->opts.max_new_tokens, "tokens to generate at most")->capture_default_str();
  sub.add_option("--temperature", a->opts.temperature, "0: greedy")->capture_default_str();
  sub.add_option("--top-k", a->opts.top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  sub.add_option("--top-p", a->opts.top_p, "nucleus sampling mass (1: off)")->capture_default_str();
  sub.add_option("--seed", a->opts.seed, "sampling seed")->capture_default_str();
  sub.add_option("--stop", a->stop, "stop after emitting this token (default: the tokenizer's end of sequence)");
  sub.add_flag("--ignore-eos", a->ignore_eos, "do not stop at the tokenizer's end-of-sequence token");
  sub.add_flag("--allow-nonfinite", a->allow_nonfinite, "load a checkpoint even if it holds NaN or infinite weights");
  sub.add_flag("--no-cache", a->no_cache, "recompute the whole sequence per token instead of using the KV cache");
  sub.add_option("--threads", a->threads, "worker threads (0: all cores)");
  return [a] { return run_generate(*a); };
});

}  // namespace
}  // namespace attend::cli
