// Printing lab::check_induction's evidence (tools/induction_report.h).
#include "induction_report.h"

#include <cstdio>

namespace attend::cli {

namespace {
std::string heads_text(const std::vector<lab::HeadRef>& heads) {
  std::string s;
  for (const lab::HeadRef& h : heads) {
    if (!s.empty()) s += ", ";
    s += lab::head_name(h);
  }
  return s.empty() ? "none" : s;
}
}  // namespace

std::string periods_text(const std::vector<std::int64_t>& periods) {
  std::string s;
  for (std::int64_t p : periods) {  // appended piecewise: GCC 12 warns (-Wrestrict) on "," + std::to_string(p)
    if (!s.empty()) s += ',';
    s += std::to_string(p);
  }
  return s;
}

void print_induction_check(const lab::InductionCheck& r, std::int64_t sequences) {
  std::printf("  next-token accuracy on the repeats (%lld fresh sequences each, chance %.1f%%):\n", static_cast<long long>(sequences),
              100 * r.chance);
  std::printf("    trained periods  %-24s %6.1f%%\n", periods_text(r.train_periods).c_str(), 100 * r.accuracy_train);
  std::printf("    held-out periods %-24s %6.1f%%  (never in a training sequence)\n", periods_text(r.held_out_periods).c_str(),
              100 * r.accuracy_held_out);
  std::printf("  head detectors (lab::detect_heads: %d random sequences per held-out period, random offsets, %d tokens):\n",
              r.detectors.sequences, r.detectors.length);
  std::printf("    head  prev-token  induction (worst period)  tracks the period: shift (mass)  fixed offset (mass)  kind\n");
  for (const observe::HeadDetector& h : r.detectors.heads)
    std::printf("    L%dH%d  %10.2f  %9.2f (%4.2f)            %5d (%4.2f)                   %5d (%4.2f)        %s\n", h.layer, h.head,
                h.previous_token, h.induction, h.induction_min, h.shift, h.shift_mass, h.offset, h.offset_mass, h.kind.c_str());
  if (r.induction_heads.empty()) {
    std::printf("  no head follows the repeat at every held-out period: no induction head found\n");
    return;
  }
  std::printf("  held-out accuracy with the induction head(s) %s ablated (lab::AblationHooks): mean %.1f%%, zero %.1f%%\n",
              heads_text(r.induction_heads).c_str(), 100 * r.without_induction_mean, 100 * r.without_induction_zero);
  const std::string feeder = r.shift == 1 ? "previous-token head(s)" : "positional head(s) reading " + std::to_string(r.shift) + " back";
  if (r.shift != 1)
    std::printf("  (shift %d: the induction head attends %d tokens after an earlier copy of the current token, so its keys\n"
                "  match on what a head of the layer below read %d back, not on the previous token)\n", r.shift, r.shift, r.shift);
  if (r.without_previous_mean >= 0)
    std::printf("  ... with the %s %s of the layer below mean-ablated: %.1f%%\n", feeder.c_str(),
                heads_text(r.previous_token_heads).c_str(), 100 * r.without_previous_mean);
  else
    std::printf("  no %s found in the layers below the induction head(s)\n", feeder.c_str());
  if (r.without_control_mean >= 0)
    std::printf("  ... with %s (neither; a control) mean-ablated: %.1f%%\n", lab::head_name(r.control).c_str(), 100 * r.without_control_mean);
}

bool induction_proved(const lab::InductionCheck& r) {
  return r.accuracy_held_out >= 0.95 && !r.induction_heads.empty() && r.without_induction_mean < 0.2;
}

}  // namespace attend::cli
