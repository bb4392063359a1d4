#pragma once
// Prints lab::check_induction's evidence (accuracy at trained and held-out periods, the head
// detectors, ablations): `attend demo` and `attend eval --held-out-periods`.
#include <string>
#include <vector>

#include "attend/lab.h"

namespace attend::cli {

std::string periods_text(const std::vector<std::int64_t>& periods);  // "3,4,5"
void print_induction_check(const lab::InductionCheck& r, std::int64_t sequences);
// The demo's bar: held-out periods >= 95 %, an induction head, mean-ablating it drops them below 20 %.
bool induction_proved(const lab::InductionCheck& r);

}  // namespace attend::cli
