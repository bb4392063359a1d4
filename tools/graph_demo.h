#pragma once
// `attend graph-demo`: path-merging search, diffusion/focus and token flow on built-in data.
namespace attend::cli {
int run_graph_demo();
}
