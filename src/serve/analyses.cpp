// attend serve's endpoints over the lab (attend/lab.h): tokens, predictions (with an ablation),
// and the whole report document for a prompt (lab::inspect, the same JSON the static report embeds).
#include <algorithm>

#include "attend/observe_report.h"
#include "serve/state.h"

namespace attend::serve::detail {

namespace {

json config_json(const nn::ModelConfig& c) {
  return {{"vocab", c.vocab}, {"context", c.context}, {"d_model", c.d_model}, {"layers", c.layers}, {"heads", c.heads},
          {"kv_heads", c.kv_heads}, {"head_dim", c.head_size()}};
}

lab::AblationSpec ablation(const App::State& s, const json& req) {
  lab::AblationSpec spec;
  const std::string heads = get_string(req, "ablate", "", 4096);
  if (!heads.empty()) spec.heads = lab::parse_heads(heads, s.model.config());
  return spec;
}

std::string heads_text(const std::vector<lab::HeadRef>& heads) {
  std::string t;
  for (const lab::HeadRef& h : heads) t += (t.empty() ? "" : ", ") + lab::head_name(h);
  return t;
}

// The analyses that do not depend on the prompt (head detectors, EMF operators): once per model.
const ModelCache& model_cache(const App::State& s) {
  std::call_once(s.cache.once, [&] {
    const nn::ModelConfig& c = s.model.config();
    if (c.context >= 8 && c.vocab >= 6) s.cache.detectors = lab::detect_heads(s.model);  // as lab::inspect decides
    observe::EmfAnalysis emf = observe::emf_factored(lab::emf_weights(s.model, false));
    s.cache.operators = std::move(emf.ops);
    s.cache.composition = std::move(emf.composition);
    s.cache.emf_note = "factored through d_head-sized QR cores (computed once per model by the server)";
  });
  return s.cache;
}

// Forward runs one comparison takes (lab::compare): every head's output, each layer's attention and
// MLP output, and (positions) each layer's residual at each position; twice when noising.
std::int64_t patch_runs(const nn::ModelConfig& c, std::int64_t n, const lab::CompareOptions& o) {
  const std::int64_t one = c.layers * c.heads + 2 * c.layers + (o.positions ? c.layers * n : 0);
  return 2 + one * (o.noising ? 2 : 1);
}

int one_token(const App::State& s, const json& req, const char* key) {
  const std::string text = get_string(req, key, "", 256);
  if (text.empty()) return -1;
  const auto ids = s.model.encode(text, false);
  if (ids.size() != 1) throw BadRequest(400, std::string("field '") + key + "' ('" + text + "') is " + std::to_string(ids.size()) + " tokens; give one token");
  return ids[0];
}

}  // namespace

json info(const App::State& s) {
  const Limits& l = s.limits;
  return {{"model", s.name}, {"config", config_json(s.model.config())}, {"tokenizer", s.model.tokenizer_description()},
          {"limits", {{"max_body_bytes", l.max_body_bytes}, {"max_prompt_bytes", l.max_prompt_bytes},
                      {"max_tokens", std::min<std::int64_t>(l.max_tokens, s.model.config().context)},
                      {"max_patch_runs", l.max_patch_runs}, {"workers", l.workers}, {"queue", l.queue}}}};
}

json tokenize(const App::State& s, const json& req) {
  const std::vector<std::int32_t> ids = prompt_tokens(s, get_string(req, "prompt", "", s.limits.max_prompt_bytes), "prompt");
  json tokens = json::array();
  for (std::int32_t t : ids) tokens.push_back(s.model.decode_token(t));
  return {{"ids", ids}, {"tokens", tokens}};
}

json predict(const App::State& s, const json& req) {
  const std::vector<std::int32_t> ids = prompt_tokens(s, get_string(req, "prompt", "", s.limits.max_prompt_bytes), "prompt");
  const int top_k = static_cast<int>(get_int(req, "top_k", 5, 1, 20));
  const lab::AblationSpec spec = ablation(s, req);
  std::unique_ptr<lab::AblationHooks> hooks;
  if (!spec.heads.empty()) hooks = std::make_unique<lab::AblationHooks>(s.model, spec);
  observe::Selection none;  // logits only: nothing recorded
  none.full_matrices = false;
  none.activations = false;
  none.thumbnail = 0;
  const lab::Run r = lab::run(s.model, ids, none, hooks.get());
  const auto n = static_cast<std::int64_t>(ids.size());
  const observe::Predictions p = observe::predictions(r.logits, n, s.model.config().vocab, lab::next_tokens(ids), top_k);
  json tokens = json::array(), top_text = json::array();
  for (std::int32_t t : ids) tokens.push_back(s.model.decode_token(t));
  for (int t : p.top_tokens) top_text.push_back(s.model.decode_token(t));
  return {{"ids", ids}, {"tokens", tokens}, {"ablated", heads_text(spec.heads)}, {"top_k", top_k}, {"top_tokens", p.top_tokens},
          {"top_text", top_text}, {"top_probs", p.top_probs}, {"p_actual", p.p_actual}, {"mean_loss", p.mean_loss},
          {"accuracy", p.accuracy}};
}

std::string analyze(const App::State& s, const json& req) {
  const std::string prompt = get_string(req, "prompt", "", s.limits.max_prompt_bytes);
  const std::vector<std::int32_t> ids = prompt_tokens(s, prompt, "prompt");
  const auto n = static_cast<std::int64_t>(ids.size());
  const nn::ModelConfig& c = s.model.config();
  lab::InspectOptions o;
  o.title = prompt;
  o.selection.full_matrices = false;
  o.selection.thumbnail = n;  // one cell per entry: every head's exact weights (n <= max_tokens bounds the memory)
  o.top_k = static_cast<int>(get_int(req, "top_k", 5, 1, 20));
  o.ablation = ablation(s, req);
  o.detectors = false;  // from the cache below
  o.emf = false;
  const std::string corrupt = get_string(req, "corrupt", "", s.limits.max_prompt_bytes);
  if (!corrupt.empty()) {
    o.corrupt = prompt_tokens(s, corrupt, "corrupt");
    if (o.corrupt.size() != ids.size())
      throw BadRequest(400, "the two prompts must have the same number of tokens (prompt: " + std::to_string(ids.size()) +
                                ", corrupt: " + std::to_string(o.corrupt.size()) + ")");
    o.compare.position = get_int(req, "position", -1, -1, n - 1);
    o.compare.answer = one_token(s, req, "answer");
    o.compare.wrong = one_token(s, req, "wrong");
    // Bound the work: drop the layer × position grid, then the noising grids, before refusing.
    if (patch_runs(c, n, o.compare) > s.limits.max_patch_runs) o.compare.positions = false;
    if (patch_runs(c, n, o.compare) > s.limits.max_patch_runs) o.compare.noising = false;
    if (patch_runs(c, n, o.compare) > s.limits.max_patch_runs)
      throw BadRequest(413, "patching this model takes " + std::to_string(patch_runs(c, n, o.compare)) + " forward runs; the limit is " +
                                std::to_string(s.limits.max_patch_runs));
  } else if (req.contains("position") || req.contains("answer") || req.contains("wrong")) {
    throw BadRequest(400, "position, answer and wrong belong to a comparison: give 'corrupt' too");
  }
  lab::Inspection ins = lab::inspect(s.model, ids, o);
  const ModelCache& cache = model_cache(s);
  ins.report.detectors = cache.detectors;
  ins.report.operators = cache.operators;
  ins.report.composition = cache.composition;
  ins.report.emf_note = cache.emf_note;
  if (ins.report.comparison && (!o.compare.positions || !o.compare.noising))
    ins.report.comparison->note += std::string(" (bounded work: ") + (o.compare.positions ? "" : "no layer × position grid") +
                                   (!o.compare.positions && !o.compare.noising ? ", " : "") + (o.compare.noising ? "" : "no noising grids") + ")";
  return observe::report_json(ins.rec, ins.report);
}

}  // namespace attend::serve::detail
