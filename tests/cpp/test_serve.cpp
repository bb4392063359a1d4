// attend serve's App (attend/serve.h) request by request, without sockets: the answers against the
// lab and the model computed directly (predictions from the model's own logits, with and without an
// ablation through the lab's hooks), every malformed or oversized request answered 4xx with a
// message, the page holding only its own assets, and concurrent requests giving the serial answers.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "attend/error.h"
#include "attend/lab.h"
#include "attend/serve.h"

namespace attend {
namespace {

using nlohmann::json;

nn::Model byte_model() {
  nn::ModelConfig c;
  c.vocab = 256;  // byte-level text: "abc" is 3 tokens
  c.context = 32;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 32;
  return nn::Model(c, 11);
}

json body(const serve::Response& r) { return json::parse(r.body); }
serve::Response post(const serve::App& app, const std::string& path, const json& j) { return app.handle("POST", path, j.dump()); }

TEST(Serve, PredictMatchesTheModelsOwnLogitsWithAndWithoutAnAblation) {
  const nn::Model m = byte_model();
  const serve::App app(m);
  const std::string prompt = "abcabd";
  const std::vector<std::int32_t> ids = m.encode(prompt);
  for (const std::string ablate : {"", "L1H0"}) {
    json req = {{"prompt", prompt}, {"top_k", 3}};
    if (!ablate.empty()) req["ablate"] = ablate;
    const serve::Response r = post(app, "/api/predict", req);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = body(r);
    // Independent: softmax of the model's forward logits (with the lab's ablation hooks).
    lab::AblationSpec spec;
    if (!ablate.empty()) spec.heads = {{1, 0}};
    lab::AblationHooks hooks(m, spec);
    const Tensor logits = m.forward(ids, nullptr, ablate.empty() ? nullptr : &hooks);
    const float* l = static_cast<const float*>(logits.data());
    const auto n = static_cast<std::int64_t>(ids.size());
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = l + i * 256;
      double z = 0, mx = row[0];
      int best = 0;
      for (int v = 0; v < 256; ++v) { mx = std::max<double>(mx, row[v]); if (row[v] > row[best]) best = v; }
      for (int v = 0; v < 256; ++v) z += std::exp(row[v] - mx);
      EXPECT_EQ(j["top_tokens"][i * 3].get<int>(), best);
      EXPECT_NEAR(j["top_probs"][i * 3].get<double>(), std::exp(row[best] - mx) / z, 1e-5);
      if (i + 1 < n) {
        EXPECT_NEAR(j["p_actual"][i].get<double>(), std::exp(row[ids[i + 1]] - mx) / z, 1e-5);
      }
    }
    EXPECT_EQ(j["ablated"].get<std::string>(), ablate.empty() ? "" : "L1H0");
  }
  EXPECT_NE(body(post(app, "/api/predict", {{"prompt", prompt}}))["p_actual"],
            body(post(app, "/api/predict", {{"prompt", prompt}, {"ablate", "L0H1"}}))["p_actual"]);
}

TEST(Serve, AnalyzeIsTheReportDocumentOfTheLabsInspection) {
  const nn::Model m = byte_model();
  const serve::App app(m);
  const serve::Response r = post(app, "/api/analyze", {{"prompt", "abcdabcd"}, {"ablate", "L0H0"}, {"corrupt", "abcdabce"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = body(r);
  EXPECT_EQ(j["n"], 8);
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["full"].size(), 4u);  // every head's exact weights (one thumbnail cell per entry)
  EXPECT_NE(j["intervention"].get<std::string>().find("L0H0"), std::string::npos);
  ASSERT_FALSE(j["comparison"].is_null());
  EXPECT_FALSE(j["comparison"]["grids"].empty());
  ASSERT_FALSE(j["lens"].is_null());
  ASSERT_FALSE(j["dla"].is_null());
  ASSERT_FALSE(j["detectors"].is_null());
  EXPECT_EQ(j["operators"].size(), 4u);
  // The same inspection through the lab directly: the same predictions.
  lab::InspectOptions o;
  o.selection.full_matrices = false;
  o.selection.thumbnail = 8;
  o.detectors = o.emf = false;
  o.ablation.heads = {{0, 0}};
  const lab::Inspection ins = lab::inspect(m, m.encode("abcdabcd"), o);
  const auto& p = *ins.report.predictions;
  for (std::size_t i = 0; i < p.top_tokens.size(); ++i) EXPECT_EQ(j["predictions"]["top_tokens"][i].get<int>(), p.top_tokens[i]);
}

TEST(Serve, BadRequestsAre4xxWithAMessageAndTheAppKeepsAnswering) {
  const nn::Model m = byte_model();
  serve::Limits lim;
  lim.max_body_bytes = 2000;
  lim.max_prompt_bytes = 100;
  lim.max_tokens = 16;
  const serve::App app(m, lim);
  const std::vector<std::tuple<std::string, std::string, std::string, int>> cases = {
      {"POST", "/api/analyze", "{nope", 400},
      {"POST", "/api/analyze", "", 400},
      {"POST", "/api/analyze", "\"abc\"", 400},
      {"POST", "/api/analyze", R"({"prompt": 5})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "extra": 1})", 400},
      {"POST", "/api/analyze", R"({"prompt": ""})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "ablate": "L7H0"})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "ablate": "garbage"})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "corrupt": "abcd"})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "position": 2})", 400},
      {"POST", "/api/analyze", R"({"prompt": "abc", "corrupt": "abd", "position": 3})", 400},
      {"POST", "/api/predict", R"({"prompt": "abc", "top_k": 0})", 400},
      {"POST", "/api/predict", R"({"prompt": "abc", "top_k": 2.5})", 400},
      {"POST", "/api/predict", R"({"prompt": "aaaaaaaaaaaaaaaaa"})", 413},  // 17 tokens > 16
      {"POST", "/api/predict", json{{"prompt", std::string(101, 'a')}}.dump(), 413},
      {"POST", "/api/predict", std::string(2001, ' '), 413},
      {"GET", "/api/predict", "", 405},
      {"DELETE", "/", "", 405},
      {"GET", "/../etc/passwd", "", 404},
      {"GET", "/api", "", 404},
  };
  for (const auto& [method, path, b, want] : cases) {
    const serve::Response r = app.handle(method, path, b);
    EXPECT_EQ(r.status, want) << method << " " << path << " " << b.substr(0, 60) << " -> " << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
    EXPECT_GT(j["error"].get<std::string>().size(), 5u);
  }
  EXPECT_EQ(post(app, "/api/predict", {{"prompt", "abc"}}).status, 200);
}

TEST(Serve, ThePageHoldsOnlyItsOwnAssets) {
  const nn::Model m = byte_model();
  const serve::App app(m, {}, "<model & \"name\">");
  const serve::Response r = app.handle("GET", "/", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/html", 0), 0u);
  for (const char* no : {"src=\"http", "href=\"http", "<script src", "<link rel=\"stylesheet", "@import", "<model &"})
    EXPECT_EQ(r.body.find(no), std::string::npos) << no;
  EXPECT_NE(r.body.find("attendReport"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;model &amp; &quot;name&quot;&gt;"), std::string::npos);
  const json info = body(app.handle("GET", "/api/info", ""));
  EXPECT_EQ(info["config"]["heads"], 2);
  EXPECT_EQ(info["limits"]["max_tokens"], 32);  // min(limit 128, context 32)
}

TEST(Serve, ConcurrentRequestsGiveTheSerialAnswers) {
  const nn::Model m = byte_model();
  serve::Limits lim;
  lim.workers = 2;
  const serve::App app(m, lim);
  const std::vector<std::string> prompts = {"abcabc", "hello there", "xyzzy", "aaaa"};
  std::vector<std::string> serial;
  for (const auto& p : prompts) serial.push_back(post(app, "/api/predict", {{"prompt", p}, {"ablate", "L1H1"}}).body);
  std::vector<std::thread> threads;
  std::vector<int> bad(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 6; ++k) {
        const std::size_t i = static_cast<std::size_t>(t + k) % prompts.size();
        if (post(app, "/api/predict", {{"prompt", prompts[i]}, {"ablate", "L1H1"}}).body != serial[i]) ++bad[static_cast<std::size_t>(t)];
      }
    });
  for (auto& t : threads) t.join();
  for (int b : bad) EXPECT_EQ(b, 0);
}

TEST(Serve, LimitsAreChecked) {
  const nn::Model m = byte_model();
  serve::Limits lim;
  lim.workers = 0;
  EXPECT_THROW({ const serve::App app(m, lim); }, Error);
}

}  // namespace
}  // namespace attend
