#pragma once
// The report viewer's scripts, style and static markup (web/report_plot.js, web/report_panels.js,
// web/report.js, web/report.css, web/report_body.html), compiled into the library by cmake/AttendEmbedWeb.cmake.
namespace attend::observe::web {
extern const char* const kReportPlotJs;    // plotting helpers (window.attendPlot)
extern const char* const kReportPanelsJs;  // the panels (window.attendPanels)
extern const char* const kReportJs;        // the renderer (window.attendReport); load the two above first
extern const char* const kReportCss;
extern const char* const kReportBody;
}  // namespace attend::observe::web
