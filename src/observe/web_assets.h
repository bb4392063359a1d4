#pragma once
// The report viewer's script and style (web/report.js, web/report.css), compiled into the library
// by cmake/AttendEmbedWeb.cmake.
namespace attend::observe::web {
extern const char* const kReportJs;
extern const char* const kReportCss;
}  // namespace attend::observe::web
