#pragma once
// The app's script and markup (web/app.js, web/app_body.html), compiled into the serve layer by
// cmake/AttendEmbedWeb.cmake; the page around them reuses the report's (observe/web_assets.h).
namespace attend::serve::web {
extern const char* const kAppJs;
extern const char* const kAppBody;
}  // namespace attend::serve::web
