#pragma once
// Shared by `attend inspect` (tools/pending/cmd_inspect.cpp, real checkpoints) and
// `attend inspect-toy` (the hand-built induction model): option parsing and EMF extraction.
#include <string>
#include <vector>

#include "attend/model.h"
#include "attend/observe_metrics.h"

namespace attend::cli {

// "0,2,5" or "1-3" or "" (all) -> sorted unique ints; throws attend::Error naming `what`.
std::vector<int> parse_int_list(const std::string& text, const char* what);
// Per-head operators of one layer's weights (GQA: head h reads KV head h / (H / G)), head order.
std::vector<observe::HeadOperators> layer_operators(const nn::AttentionWeights& w);

}  // namespace attend::cli
