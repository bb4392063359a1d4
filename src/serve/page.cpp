// The app's page: the report's style, markup and renderer (web/report.*, the same code the static
// report runs) under the app's controls (web/app_body.html, web/app.js), which fetch the report's
// JSON document from /api/analyze and hand it to the renderer. Nothing is loaded from elsewhere.
#include "attend/observe_report.h"
#include "observe/web_assets.h"
#include "serve/app_assets.h"
#include "serve/state.h"

namespace attend::serve::detail {

std::string page(const App::State& s) {
  const nn::ModelConfig& c = s.model.config();
  const json meta = info(s);
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  // Same-origin fetches only; inline script and style only (the page's own).
  html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
          "style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'\">\n";
  html += "<link rel=\"icon\" href=\"data:,\">\n<title>attend serve: " + observe::escape_html(s.name) + "</title>\n";
  html += std::string("<style>") + observe::web::kReportCss + "</style>\n</head><body class=\"app\">\n";
  html += "<h1>attend observatory</h1><div class=\"note\">model: " + observe::escape_html(s.name) + " · " + std::to_string(c.layers) +
          " layers, " + std::to_string(c.heads) + " heads, d_model " + std::to_string(c.d_model) + ", vocabulary " + std::to_string(c.vocab) +
          " · prompt: <span id=\"title\"></span></div>\n";
  html += web::kAppBody;
  html += "<div id=\"report\">";
  html += observe::web::kReportBody;
  html += "</div>\n<script type=\"application/json\" id=\"attend-server\">" + observe::json_for_script(meta.dump(-1, ' ', false, json::error_handler_t::replace)) +
          "</script>\n";
  html += std::string("<script>") + observe::web::kReportPlotJs + "</script>\n<script>" + observe::web::kReportPanelsJs + "</script>\n";
  html += std::string("<script>") + observe::web::kReportJs + "</script>\n";
  html += std::string("<script>") + web::kAppJs + "</script>\n</body></html>\n";
  return html;
}

}  // namespace attend::serve::detail
