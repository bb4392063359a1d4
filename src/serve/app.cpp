// attend serve's request handling (attend/serve.h): routing, request checks, the queue, errors.
#include <new>

#include "attend/error.h"
#include "core/check.h"
#include "serve/state.h"

namespace attend::serve {

using nlohmann::json;

Response error_response(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

App::App(const nn::Model& model, Limits limits, std::string name) {
  if (limits.workers < 1 || limits.queue < 0 || limits.max_tokens < 1 || limits.max_prompt_bytes < 1 || limits.max_body_bytes < 1 ||
      limits.max_patch_runs < 1)
    attend::detail::fail("serve::App", "limits must be positive (workers=", limits.workers, ", queue=", limits.queue,
                         ", max_tokens=", limits.max_tokens, ")");
  s_ = std::make_unique<State>(model, limits, std::move(name));
}
App::~App() = default;
const Limits& App::limits() const { return s_->limits; }

namespace detail {

json parse_body(const std::string& body, std::initializer_list<const char*> allowed) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw BadRequest(400, "the body is not valid JSON");
  if (!j.is_object()) throw BadRequest(400, "the body must be a JSON object");
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || item.key() == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw BadRequest(400, "unknown field '" + item.key() + "' (this endpoint takes: " + list + ")");
    }
  }
  return j;
}

std::string get_string(const json& j, const char* key, const std::string& fallback, std::int64_t max_bytes) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw BadRequest(400, std::string("field '") + key + "' must be a string");
  const std::string s = j[key].get<std::string>();
  if (static_cast<std::int64_t>(s.size()) > max_bytes)
    throw BadRequest(413, std::string("field '") + key + "' is " + std::to_string(s.size()) + " bytes; the limit is " +
                              std::to_string(max_bytes));
  return s;
}

std::int64_t get_int(const json& j, const char* key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer()) throw BadRequest(400, std::string("field '") + key + "' must be an integer");
  const auto v = j[key].get<std::int64_t>();
  if (v < lo || v > hi)
    throw BadRequest(400, std::string("field '") + key + "' is " + std::to_string(v) + "; allowed: " + std::to_string(lo) + " .. " +
                              std::to_string(hi));
  return v;
}

std::vector<std::int32_t> prompt_tokens(const App::State& s, const std::string& text, const char* what) {
  if (text.empty()) throw BadRequest(400, std::string(what) + " is empty");
  const std::vector<std::int32_t> ids = s.model.encode(text);
  const std::int64_t limit = std::min<std::int64_t>(s.limits.max_tokens, s.model.config().context);
  if (ids.empty()) throw BadRequest(400, std::string(what) + " has no tokens");
  if (static_cast<std::int64_t>(ids.size()) > limit)
    throw BadRequest(413, std::string(what) + " is " + std::to_string(ids.size()) + " tokens; the limit is " + std::to_string(limit));
  return ids;
}

}  // namespace detail

Response App::handle(const std::string& method, const std::string& path, const std::string& body) const {
  const State& s = *s_;
  try {
    if (static_cast<std::int64_t>(body.size()) > s.limits.max_body_bytes)
      return error_response(413, "the body is " + std::to_string(body.size()) + " bytes; the limit is " + std::to_string(s.limits.max_body_bytes));
    const bool get = method == "GET" || method == "HEAD", post = method == "POST";
    auto wrong_method = [&](const char* want) { return error_response(405, path + " takes " + want + ", not " + method); };
    if (path == "/" || path == "/index.html") {
      if (!get) return wrong_method("GET");
      Response r;
      r.content_type = "text/html; charset=utf-8";
      r.body = detail::page(s);
      return r;
    }
    if (path == "/api/info") {
      if (!get) return wrong_method("GET");
      return {200, "application/json", detail::info(s).dump()};
    }
    const bool tokenize = path == "/api/tokenize", predict = path == "/api/predict", analyze = path == "/api/analyze";
    if (!tokenize && !predict && !analyze)
      return error_response(404, "no such resource: " + path + " (the API: GET /api/info, POST /api/tokenize, /api/predict, /api/analyze)");
    if (!post) return wrong_method("POST");
    if (tokenize) return {200, "application/json", detail::tokenize(s, detail::parse_body(body, {"prompt"})).dump(-1, ' ', false, json::error_handler_t::replace)};
    detail::Ticket ticket(s.gate);  // the analyses queue here
    if (!ticket.ok()) return error_response(503, "busy: " + std::to_string(s.limits.queue) + " requests are already waiting; retry later");
    if (predict) {
      const json req = detail::parse_body(body, {"prompt", "ablate", "top_k"});
      return {200, "application/json", detail::predict(s, req).dump(-1, ' ', false, json::error_handler_t::replace)};
    }
    const json req = detail::parse_body(body, {"prompt", "ablate", "corrupt", "position", "answer", "wrong", "top_k"});
    return {200, "application/json", detail::analyze(s, req)};
  } catch (const detail::BadRequest& e) {
    return error_response(e.status, e.what());
  } catch (const attend::Error& e) {
    return error_response(400, e.what());  // the library's checks of caller input (heads, tokens, shapes)
  } catch (const json::exception& e) {
    return error_response(400, std::string("bad field: ") + e.what());
  } catch (const std::bad_alloc&) {
    return error_response(503, "out of memory for this request");
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error: ") + e.what());
  }
}

}  // namespace attend::serve
