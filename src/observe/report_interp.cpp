// The report's interpretability panels (report_panels.h): predictions, logit lens, direct logit
// attribution, head detectors and the comparison of two runs, as JSON.
#include "observe/report_panels.h"

namespace attend::observe::detail_report {

using nlohmann::json;

namespace {

json predictions_json(const Predictions& p) {
  return {{"n", p.n}, {"k", p.top_k}, {"top_tokens", p.top_tokens}, {"top_probs", nums(p.top_probs)}, {"actual", p.actual},
          {"p_actual", nums(p.p_actual)}, {"rank_actual", p.rank_actual}, {"loss", nums(p.loss)}, {"mean_loss", num(p.mean_loss)},
          {"accuracy", num(p.accuracy)}};
}

json grid_json(const PatchGrid& g) {
  return {{"name", g.name}, {"direction", g.direction}, {"rows", g.rows}, {"cols", g.cols}, {"row_labels", g.row_labels},
          {"col_labels", g.col_labels}, {"recovered", nums(g.recovered, 3)}};
}

}  // namespace

void add_interp_panels(json& d, const Recording& rec, const ReportOptions& opts) {
  (void)rec;
  if (opts.flow) {
    const FlowPanel& f = *opts.flow;
    json update = json::array();
    for (const auto& u : f.update) update.push_back(nums(u, 4));
    d["flow"] = {{"predicted", f.predicted}, {"clusters_embedded", f.clusters_embedded}, {"embedded_last_cos", num(f.embedded_last_cos)},
                 {"cluster_cos", f.cluster_cos}, {"mean_update", nums(f.mean_update)}, {"mean_attention", nums(f.mean_attention)},
                 {"mean_mlp", nums(f.mean_mlp)}, {"w2", nums(f.w2)}, {"clusters", f.clusters}, {"last_cos", nums(f.last_cos)},
                 {"last_attention_along", nums(f.last_attention_along)}, {"last_mlp_along", nums(f.last_mlp_along)}, {"update", update}};
  } else {
    d["flow"] = nullptr;
  }
  d["predictions"] = opts.predictions ? predictions_json(*opts.predictions) : json(nullptr);
  d["baseline_predictions"] = opts.baseline_predictions ? predictions_json(*opts.baseline_predictions) : json(nullptr);
  d["intervention"] = opts.intervention;
  if (opts.lens) {
    const LogitLens& l = *opts.lens;
    d["lens"] = {{"stages", l.stages}, {"labels", l.labels}, {"target", l.target}, {"prob", nums(l.prob, 3)}, {"rank", l.rank},
                 {"top_token", l.top_token}, {"top_prob", nums(l.top_prob, 3)}};
  } else {
    d["lens"] = nullptr;
  }
  if (opts.attribution) {
    const Attribution& a = *opts.attribution;
    d["dla"] = {{"components", a.components}, {"labels", a.labels}, {"layer", a.layer}, {"head", a.head}, {"target", a.target},
                {"baseline", a.baseline}, {"value", nums(a.value)}, {"logit", nums(a.logit)}, {"rstd", nums(a.rstd)}};
  } else {
    d["dla"] = nullptr;
  }
  if (opts.detectors) {
    json heads = json::array();
    for (const HeadDetector& h : opts.detectors->heads)
      heads.push_back({{"layer", h.layer}, {"head", h.head}, {"previous_token", num(h.previous_token, 3)},
                       {"duplicate_token", num(h.duplicate_token, 3)}, {"induction", num(h.induction, 3)},
                       {"induction_min", num(h.induction_min, 3)}, {"offset", h.offset}, {"offset_mass", num(h.offset_mass, 3)},
                       {"positional", h.positional}, {"kind", h.kind}});
    d["detectors"] = {{"periods", opts.detectors->periods}, {"sequences", opts.detectors->sequences},
                      {"length", opts.detectors->length}, {"heads", heads}};
  } else {
    d["detectors"] = nullptr;
  }
  if (opts.comparison) {
    const Comparison& c = *opts.comparison;
    json grids = json::array();
    for (const PatchGrid& g : c.grids) grids.push_back(grid_json(g));
    d["comparison"] = {{"clean_prompt", c.clean_prompt}, {"corrupt_prompt", c.corrupt_prompt}, {"clean_tokens", c.clean_tokens},
                       {"corrupt_tokens", c.corrupt_tokens}, {"position", c.position}, {"answer", c.answer}, {"wrong", c.wrong},
                       {"answer_text", c.answer_text}, {"wrong_text", c.wrong_text}, {"metric_clean", num(c.metric_clean)},
                       {"metric_corrupt", num(c.metric_corrupt)}, {"clean", predictions_json(c.clean)},
                       {"corrupt", predictions_json(c.corrupt)}, {"grids", grids}, {"note", c.note}};
  } else {
    d["comparison"] = nullptr;
  }
  json text = json::object();
  for (const auto& [id, t] : opts.token_text) text[std::to_string(id)] = t;
  d["token_text"] = text;
}

}  // namespace attend::observe::detail_report
