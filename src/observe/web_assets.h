#pragma once
// The report viewer's script, style and static markup (web/report.js, web/report.css,
// web/report_body.html), compiled into the library by cmake/AttendEmbedWeb.cmake.
namespace attend::observe::web {
extern const char* const kReportJs;
extern const char* const kReportCss;
extern const char* const kReportBody;
}  // namespace attend::observe::web
