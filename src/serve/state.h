#pragma once
// What App holds (attend/serve.h) and the endpoints' functions, shared by app.cpp (routing,
// errors), analyses.cpp (the lab's analyses per request) and page.cpp (the page).
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/lab.h"
#include "attend/serve.h"
#include "serve/gate.h"

namespace attend::serve::detail {

// A bad request: answered with `status` and the message (never a crash, never a 500).
struct BadRequest : std::runtime_error {
  int status;
  BadRequest(int s, const std::string& message) : std::runtime_error(message), status(s) {}
};

// Prompt-independent analyses, computed once on first use and shared by every request.
struct ModelCache {
  std::once_flag once;
  std::optional<observe::HeadDetectors> detectors;
  std::vector<observe::HeadOperators> operators;
  std::vector<observe::Composition> composition;
  std::string emf_note;
};

}  // namespace attend::serve::detail

namespace attend::serve {

struct App::State {
  const nn::Model& model;
  Limits limits;
  std::string name;
  mutable detail::Gate gate;
  mutable detail::ModelCache cache;
  State(const nn::Model& m, Limits l, std::string n) : model(m), limits(l), name(std::move(n)), gate(l.workers, l.queue) {}
};

namespace detail {

using nlohmann::json;

// Request bodies: a JSON object whose keys are among `allowed` (400 otherwise).
json parse_body(const std::string& body, std::initializer_list<const char*> allowed);
std::string get_string(const json& j, const char* key, const std::string& fallback, std::int64_t max_bytes);
std::int64_t get_int(const json& j, const char* key, std::int64_t fallback, std::int64_t lo, std::int64_t hi);
// A prompt's tokens, checked against the limits and the model's context (400 / 413).
std::vector<std::int32_t> prompt_tokens(const App::State& s, const std::string& text, const char* what);

json info(const App::State& s);
json tokenize(const App::State& s, const json& req);
json predict(const App::State& s, const json& req);
std::string analyze(const App::State& s, const json& req);  // the report's JSON document
std::string page(const App::State& s);

}  // namespace detail
}  // namespace attend::serve
