#pragma once
// attend serve: the observatory as a local web app. App answers the HTTP requests of the single-page
// app and of scripts (JSON under /api/…) for one loaded model; the transport (an HTTP server on
// loopback) lives in the command line (tools/cmd_serve.cpp), so this layer needs no network code
// and is tested request by request.
//
// Every answer is a Response: 200 with JSON (or the page), 4xx with {"error": message} for a bad
// request (malformed JSON, a wrong field, a prompt over the limits), 503 when the queue is full.
// handle() may run on any number of threads at once (the model's const functions are thread-safe,
// attend/model.h); at most Limits::workers analyses run at a time, the others wait in a queue.
#include <cstdint>
#include <memory>
#include <string>

#include "attend/model.h"

namespace attend::serve {

struct Limits {
  std::int64_t max_body_bytes = 64 * 1024;  // a request's body
  std::int64_t max_prompt_bytes = 4096;     // one prompt's text
  std::int64_t max_tokens = 128;            // tokens per prompt (never above the model's context)
  std::int64_t max_patch_runs = 2048;       // forward runs one comparison may take (patching grids)
  int workers = 2;                          // analyses running at once
  int queue = 64;                           // analyses waiting at most; beyond that: 503
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class App {
 public:
  // model must outlive the App; name is shown in the page (e.g. the checkpoint's path).
  App(const nn::Model& model, Limits limits = {}, std::string name = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // method: "GET" | "POST" | …; path without the query string; body: the request's body.
  Response handle(const std::string& method, const std::string& path, const std::string& body) const;
  const Limits& limits() const;

  struct State;  // opaque: the model, the limits, the queue, the per-model cache (src/serve)

 private:
  std::unique_ptr<State> s_;
};

// {"error": message} with the status (for errors the transport itself detects, e.g. a body over
// the limit before it reaches handle()).
Response error_response(int status, const std::string& message);

}  // namespace attend::serve
