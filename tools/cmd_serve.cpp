// attend serve: the observatory as a local web app over one loaded model. The requests are answered
// by attend::serve::App (src/serve, attend/serve.h); this file is the transport: cpp-httplib
// (Debian's libcpp-httplib-dev) on loopback by default, a fixed pool of connection threads, bodies
// bounded before they are read, and the page's own assets only.
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <thread>

#include "attend/model.h"
#include "attend/runtime.h"
#include "attend/serve.h"
#include "cli_paths.h"
#include "command.h"
#include "core/check.h"
#include "core/printable.h"

namespace attend::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1";
  int port = 8080, threads = 0, connections = 8;
  serve::Limits limits;
  bool allow_nonfinite = false;
};

bool loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

// The host part of a Host header ("127.0.0.1:8080", "[::1]:8080", "localhost").
std::string host_of(const std::string& h) {
  if (!h.empty() && h[0] == '[') return h.substr(1, h.find(']') == std::string::npos ? std::string::npos : h.find(']') - 1);
  return h.substr(0, h.find(':'));
}

void send(httplib::Response& res, const serve::Response& r) {
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
}

int run_serve(const ServeArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  PathCheck("serve").model("--model", a.model).check();
  const nn::Model model = nn::Model::load(a.model, {.allow_nonfinite = a.allow_nonfinite});
  const serve::App app(model, a.limits, a.model);
  const bool local = loopback(a.host);
  if (!local)
    std::fprintf(stderr, "attend serve: WARNING: listening on %s, not loopback: anyone who can reach this address can use the server\n",
                 printable(a.host).c_str());

  // SIGINT / SIGTERM stop the server from a thread of ours (httplib's stop() is not signal-safe).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts: they inherit the mask

  httplib::Server srv;
  const int connections = a.connections;
  srv.new_task_queue = [connections] { return new httplib::ThreadPool(static_cast<std::size_t>(connections)); };
  srv.set_payload_max_length(static_cast<std::size_t>(a.limits.max_body_bytes));  // 413 before the body is read
  srv.set_read_timeout(10, 0);
  srv.set_write_timeout(30, 0);
  srv.set_keep_alive_max_count(100);
  srv.set_keep_alive_timeout(2);  // idle keep-alive connections give their thread back soon
  srv.set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}, {"Referrer-Policy", "no-referrer"},
                           {"X-Frame-Options", "DENY"},
                           {"Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                                       "img-src data: blob:; connect-src 'self'"}});
  auto handler = [&app, local](const httplib::Request& req, httplib::Response& res) {
    // On loopback, only requests addressed to loopback: a web page elsewhere cannot reach the API
    // through a DNS name that points here (DNS rebinding).
    if (local && req.has_header("Host") && !loopback(host_of(req.get_header_value("Host")))) {
      send(res, serve::error_response(403, "requests must be addressed to the loopback host (Host: " + req.get_header_value("Host") + ")"));
      return;
    }
    send(res, app.handle(req.method, req.path, req.body));
  };
  srv.Get(".*", handler);
  srv.Post(".*", handler);
  srv.Put(".*", handler);
  srv.Delete(".*", handler);
  srv.Patch(".*", handler);
  srv.Options(".*", handler);
  // Errors httplib detects itself (a body over the limit, a malformed request line): JSON too.
  srv.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const std::string msg = res.status == 413 ? "the body is over the limit" : std::string("HTTP ") + std::to_string(res.status);
      res.set_content(serve::error_response(res.status, msg).body, "application/json");
    }
  });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send(res, serve::error_response(500, "internal error"));
  });

  const int port = a.port == 0 ? srv.bind_to_any_port(a.host) : (srv.bind_to_port(a.host, a.port) ? a.port : -1);
  if (port < 0) detail::fail("serve", "cannot listen on ", a.host, ":", a.port, " (in use, or not an address of this machine)");
  std::thread stopper([&srv, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    srv.stop();
  });
  stopper.detach();
  const nn::ModelConfig& c = model.config();
  std::printf("attend serve: %s (%lld layers, %lld heads) on http://%s:%d/\n", printable(a.model).c_str(), static_cast<long long>(c.layers),
              static_cast<long long>(c.heads), a.host.find(':') != std::string::npos ? ("[" + a.host + "]").c_str() : a.host.c_str(), port);
  std::fflush(stdout);
  if (!srv.listen_after_bind()) detail::fail("serve", "the server stopped with an error");
  std::printf("attend serve: stopped\n");
  return 0;
}

const bool kServe = register_command("serve", "Serve the observatory as a local web app (prompt -> predictions, heads, lens, DLA, ablation, patching)",
                                     [](CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  sub.add_option("--model", a->model, "Hugging Face folder (config.json + safetensors), GGUF file or attend checkpoint")->required();
  sub.add_option("--host", a->host, "address to listen on (default loopback; anything else is reachable by others)");
  sub.add_option("--port", a->port, "port (0: any free port; the chosen one is printed)")->check(CLI::Range(0, 65535));
  sub.add_option("--max-tokens", a->limits.max_tokens, "tokens per prompt at most (and never above the model's context)")->check(CLI::Range(1, 4096));
  sub.add_option("--max-prompt-bytes", a->limits.max_prompt_bytes, "bytes per prompt at most")->check(CLI::Range(1, 1 << 20));
  sub.add_option("--max-body-bytes", a->limits.max_body_bytes, "request body size at most")->check(CLI::Range(64, 1 << 24));
  sub.add_option("--max-patch-runs", a->limits.max_patch_runs, "forward runs one comparison may take")->check(CLI::Range(1, 1 << 20));
  sub.add_option("--workers", a->limits.workers, "analyses running at once (others wait)")->check(CLI::Range(1, 64));
  sub.add_option("--queue", a->limits.queue, "analyses waiting at most (beyond: 503)")->check(CLI::Range(0, 4096));
  sub.add_option("--connections", a->connections, "connection threads")->check(CLI::Range(1, 256));
  sub.add_option("--threads", a->threads, "worker threads of attend's kernels (0: all)")->check(CLI::NonNegativeNumber);
  sub.add_flag("--allow-nonfinite", a->allow_nonfinite, "load a checkpoint even if it holds NaN or infinite weights");
  return [a] { return run_serve(*a); };
});

}  // namespace
}  // namespace attend::cli
