// The interpretability lab from Python (include/attend/lab.h, observe_interp.h): run_with_hooks,
// predictions, logit lens, direct logit attribution, ablation, patching, head detectors, inspect.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>
#include <regex>
#include <string>

#include "arrays.h"
#include "attend/lab.h"
#include "core/check.h"
#include "nn/model_impl.h"
#include "registry.h"

namespace attend::python {
namespace {

using observe::Recording;

py::array_t<float> floats(std::span<const float> v, std::vector<py::ssize_t> shape) {
  py::array_t<float> a(shape);
  std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
  return a;
}

py::array_t<std::int32_t> ints(std::span<const int> v, std::vector<py::ssize_t> shape) {
  py::array_t<std::int32_t> a(shape);
  for (std::size_t i = 0; i < v.size(); ++i) a.mutable_data()[i] = v[i];
  return a;
}

std::vector<std::int32_t> tokens_of(const nn::Model& m, const py::object& obj, const char* fn) {
  if (py::isinstance<py::str>(obj)) return m.encode(obj.cast<std::string>());
  return to_int32s(fn, "tokens", obj);
}

// ---- run_with_hooks: Python callables at named hook points ----------------------------------------
// Names follow TransformerLens: blocks.<l>.hook_resid_pre, blocks.<l>.attn.hook_q / hook_k / hook_v,
// blocks.<l>.attn.hook_z (head outputs), blocks.<l>.hook_attn_out, blocks.<l>.hook_resid_mid,
// blocks.<l>.hook_mlp_out, blocks.<l>.hook_resid_post, blocks.<l>.attn.hook_pattern.
struct Named {
  HookPoint point = HookPoint::resid_pre;
  bool pattern = false;
  int layer = 0;
};

Named parse_name(const std::string& name, int layers) {
  static const std::regex re(R"(blocks\.(\d+)\.(hook_resid_pre|attn\.hook_q|attn\.hook_k|attn\.hook_v|attn\.hook_z|hook_attn_out|hook_resid_mid|hook_mlp_out|hook_resid_post|attn\.hook_pattern))");
  std::smatch m;
  if (!std::regex_match(name, m, re))
    detail::fail("run_with_hooks", "unknown hook '", name, "' (blocks.<l>.hook_resid_pre | attn.hook_q | attn.hook_k | attn.hook_v | attn.hook_z | "
                 "hook_attn_out | hook_resid_mid | hook_mlp_out | hook_resid_post | attn.hook_pattern)");
  Named n;
  n.layer = std::stoi(m[1].str());
  if (n.layer >= layers) detail::fail("run_with_hooks", "hook '", name, "': layer ", n.layer, " is outside [0, ", layers, ")");
  const std::string p = m[2].str();
  if (p == "attn.hook_pattern") n.pattern = true;
  else if (p == "hook_resid_pre") n.point = HookPoint::resid_pre;
  else if (p == "attn.hook_q") n.point = HookPoint::q;
  else if (p == "attn.hook_k") n.point = HookPoint::k;
  else if (p == "attn.hook_v") n.point = HookPoint::v;
  else if (p == "attn.hook_z") n.point = HookPoint::head_out;
  else if (p == "hook_attn_out") n.point = HookPoint::attn_out;
  else if (p == "hook_resid_mid") n.point = HookPoint::resid_mid;
  else if (p == "hook_mlp_out") n.point = HookPoint::mlp_out;
  else n.point = HookPoint::resid_post;
  return n;
}

class PyHooks : public ModelHooks {
 public:
  struct Entry {
    Named at;
    std::string name;
    py::function fn;
  };
  explicit PyHooks(std::vector<Entry> e) : entries_(std::move(e)) {}
  bool wants(HookPoint point, int layer) const override {
    for (const Entry& e : entries_)
      if (!e.at.pattern && e.at.point == point && e.at.layer == layer) return true;
    return false;
  }
  void on_activation(const HookSite& s, Span<float> x) override {
    for (const Entry& e : entries_) {
      if (e.at.pattern || e.at.point != s.point || e.at.layer != s.layer) continue;
      std::vector<py::ssize_t> shape{s.tokens, s.d_model};
      if (s.point == HookPoint::q || s.point == HookPoint::head_out) shape = {s.tokens, s.heads, s.head_dim};
      if (s.point == HookPoint::k || s.point == HookPoint::v) shape = {s.tokens, s.kv_heads, s.head_dim};
      call(e, x, shape);
    }
  }
  bool wants_pattern(int layer, int) const override {
    for (const Entry& e : entries_)
      if (e.at.pattern && e.at.layer == layer) return true;
    return false;
  }
  void on_patterns(int layer, Span<const int> heads, Span<float> p, std::int64_t n) override {
    for (const Entry& e : entries_)
      if (e.at.pattern && e.at.layer == layer) call(e, p, {static_cast<py::ssize_t>(heads.size()), n, n});
  }

 private:
  // The callable sees a copy it may change in place or replace by returning an array of the same
  // shape (a copy: an array kept by the callable never points into the model's buffers).
  void call(const Entry& e, std::span<float> x, std::vector<py::ssize_t> shape) {
    py::gil_scoped_acquire gil;
    py::array_t<float> a = floats(x, shape);
    py::object r = e.fn(a, e.name);
    using Dense = py::array_t<float, py::array::c_style | py::array::forcecast>;
    const Dense out = r.is_none() ? Dense(a) : Dense(r);
    if (out.size() != static_cast<py::ssize_t>(x.size()))
      detail::fail("run_with_hooks", "hook '", e.name, "' returned ", out.size(), " values for ", x.size());
    std::memcpy(x.data(), out.data(), x.size() * sizeof(float));
  }
  std::vector<Entry> entries_;
};

py::object run_with_hooks(const nn::Model& model, const py::object& tokens_obj, const py::object& fwd_hooks, bool return_cache) {
  const std::vector<std::int32_t> ids = tokens_of(model, tokens_obj, "run_with_hooks");
  std::vector<PyHooks::Entry> entries;
  for (const py::handle item : fwd_hooks) {
    const auto pair = item.cast<py::tuple>();
    if (pair.size() != 2) detail::fail("run_with_hooks", "fwd_hooks holds (name, fn) pairs");
    const std::string name = pair[0].cast<std::string>();
    entries.push_back({parse_name(name, static_cast<int>(model.config().layers)), name, pair[1].cast<py::function>()});
  }
  PyHooks hooks(std::move(entries));
  observe::Selection sel;
  sel.full_matrices = false;
  lab::Run r;
  Tensor logits;
  {
    py::gil_scoped_release release;
    if (return_cache) r = lab::run(model, ids, sel, &hooks);
    else logits = model.forward(ids, nullptr, &hooks);
  }
  const py::ssize_t n = static_cast<py::ssize_t>(ids.size()), v = model.config().vocab;
  if (!return_cache) return floats({static_cast<const float*>(logits.data()), static_cast<std::size_t>(logits.numel())}, {n, v});
  return py::make_tuple(floats(r.logits, {n, v}), std::make_unique<Recording>(std::move(r.rec)));
}

// ---- analyses as dicts of arrays --------------------------------------------------------------------
py::dict predictions_dict(const observe::Predictions& p) {
  py::dict d;
  d["top_tokens"] = ints(p.top_tokens, {p.n, p.top_k});
  d["top_probs"] = floats(p.top_probs, {p.n, p.top_k});
  d["actual"] = ints(p.actual, {p.n});
  d["p_actual"] = floats(p.p_actual, {p.n});
  d["rank_actual"] = ints(p.rank_actual, {p.n});
  d["loss"] = floats(p.loss, {p.n});
  d["mean_loss"] = p.mean_loss;
  d["accuracy"] = p.accuracy;
  return d;
}

py::dict lens_dict(const observe::LogitLens& l) {
  py::dict d;
  d["labels"] = l.labels;
  d["target"] = ints(l.target, {l.n});
  d["prob"] = floats(l.prob, {l.stages, l.n});
  d["rank"] = ints(l.rank, {l.stages, l.n});
  d["top_token"] = ints(l.top_token, {l.stages, l.n});
  d["top_prob"] = floats(l.top_prob, {l.stages, l.n});
  return d;
}

py::dict attribution_dict(const observe::Attribution& a) {
  py::dict d;
  d["labels"] = a.labels;
  d["layer"] = a.layer;
  d["head"] = a.head;
  d["target"] = ints(a.target, {a.n});
  d["baseline"] = ints(a.baseline, {a.n});
  d["value"] = floats(a.value, {a.components, a.n});
  d["logit"] = floats(a.logit, {a.n});
  d["rstd"] = floats(a.rstd, {a.n});
  return d;
}

py::list detectors_list(const observe::HeadDetectors& det) {
  py::list out;
  for (const auto& h : det.heads) {
    py::dict d;
    d["layer"] = h.layer;
    d["head"] = h.head;
    d["previous_token"] = h.previous_token;
    d["duplicate_token"] = h.duplicate_token;
    d["induction"] = h.induction;
    d["induction_min"] = h.induction_min;
    d["offset"] = h.offset;
    d["offset_mass"] = h.offset_mass;
    d["positional"] = h.positional;
    d["kind"] = h.kind;
    out.append(d);
  }
  return out;
}

py::dict comparison_dict(const observe::Comparison& c) {
  py::dict d;
  d["position"] = c.position;
  d["answer"] = c.answer;
  d["wrong"] = c.wrong;
  d["metric_clean"] = c.metric_clean;
  d["metric_corrupt"] = c.metric_corrupt;
  d["note"] = c.note;
  py::list grids;
  for (const auto& g : c.grids) {
    py::dict gd;
    gd["name"] = g.name;
    gd["direction"] = g.direction;
    gd["row_labels"] = g.row_labels;
    gd["col_labels"] = g.col_labels;
    gd["recovered"] = floats(g.recovered, {g.rows, g.cols});
    grids.append(gd);
  }
  d["grids"] = grids;
  return d;
}

std::vector<int> int_targets(const py::object& o, std::size_t n, const char* fn) {
  if (o.is_none()) return {};
  std::vector<std::int32_t> v = to_int32s(fn, "target", o);
  if (v.size() != n) detail::fail(fn, "target has ", v.size(), " entries for ", n, " tokens");
  return {v.begin(), v.end()};
}

// The recording `rec` for `model` (capture with activations) or a fresh run on `tokens`.
std::unique_ptr<Recording> recording_for(const nn::Model& m, const py::object& tokens_or_rec, std::vector<float>* logits) {
  if (py::isinstance<Recording>(tokens_or_rec)) return std::make_unique<Recording>(tokens_or_rec.cast<const Recording&>());
  const auto ids = tokens_of(m, tokens_or_rec, "lab");
  observe::Selection sel;
  sel.full_matrices = false;
  sel.thumbnail = 0;
  py::gil_scoped_release release;
  lab::Run r = lab::run(m, ids, sel);
  if (logits) *logits = std::move(r.logits);
  return std::make_unique<Recording>(std::move(r.rec));
}

std::vector<int> default_targets(const Recording& rec) {
  std::vector<int> t(rec.token_ids.begin(), rec.token_ids.end());
  t.erase(t.begin());
  t.push_back(rec.token_ids.back());  // the last position: its own token unless given (no next one)
  return t;
}

std::vector<lab::HeadRef> head_list(const py::object& o) {
  std::vector<lab::HeadRef> out;
  if (o.is_none()) return out;
  for (const py::handle h : o) {
    const auto t = h.cast<std::pair<int, int>>();
    out.push_back({t.first, t.second});
  }
  return out;
}

void bind(py::module_& m) {
  m.def("run_with_hooks", &run_with_hooks, py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("fwd_hooks") = py::list(),
        py::arg("return_cache") = false,
        R"doc(Runs `model` on `tokens` with writable hooks; returns logits [N, V] (and a Recording when return_cache).

    fwd_hooks: [(name, fn)], name one of blocks.<l>.hook_resid_pre, .attn.hook_q, .attn.hook_k, .attn.hook_v,
    .attn.hook_z (head outputs [N, H, D]), .hook_attn_out, .hook_resid_mid, .hook_mlp_out, .hook_resid_post
    ([N, E]) or .attn.hook_pattern ([H, N, N], materialised only for hooked layers; the heads' outputs are
    recomputed as pattern · v). fn(array, name) edits the array in place or returns a replacement.)doc");
  m.def("predictions", [](const nn::Model& model, const py::object& tokens, int top_k) {
          const auto ids = tokens_of(model, tokens, "predictions");
          Tensor logits;
          {
            py::gil_scoped_release release;
            logits = model.forward(ids);
          }
          return predictions_dict(observe::predictions({static_cast<const float*>(logits.data()), static_cast<std::size_t>(logits.numel())},
                                                       static_cast<std::int64_t>(ids.size()), model.config().vocab, lab::next_tokens(ids), top_k));
        },
        py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("top_k") = 5,
        "Per position: top-k next tokens and probabilities, p(actual next token), its rank, the loss.");
  m.def("logit_lens", [](const nn::Model& model, const py::object& tokens_or_rec, const py::object& target) {
          const auto rec = recording_for(model, tokens_or_rec, nullptr);
          std::vector<int> t = int_targets(target, static_cast<std::size_t>(rec->n), "logit_lens");
          if (t.empty()) t = default_targets(*rec);
          py::gil_scoped_release release;
          auto lens = observe::logit_lens(*rec, lab::unembedding(model), t);
          py::gil_scoped_acquire gil;
          return lens_dict(lens);
        },
        py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("target") = py::none(),
        "Every stage of the residual stream (L0 pre, then each layer's mid and post) through the final norm and unembedding: "
        "p, rank of `target` per stage x position (default: the next token; the last position its own token).");
  m.def("direct_logit_attribution", [](const nn::Model& model, const py::object& tokens_or_rec, const py::object& target,
                                       const py::object& baseline) {
          const auto rec = recording_for(model, tokens_or_rec, nullptr);
          std::vector<int> t = int_targets(target, static_cast<std::size_t>(rec->n), "direct_logit_attribution");
          if (t.empty()) t = default_targets(*rec);
          const std::vector<int> b = int_targets(baseline, static_cast<std::size_t>(rec->n), "direct_logit_attribution");
          py::gil_scoped_release release;
          auto a = observe::direct_logit_attribution(*rec, lab::unembedding(model), lab::output_weights(model), t, b);
          py::gil_scoped_acquire gil;
          return attribution_dict(a);
        },
        py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("target") = py::none(), py::arg("baseline") = py::none(),
        "Each head's, MLP's, bias' and the embedding's direct contribution to logit(target) [− logit(baseline)] per position, "
        "the final norm's scale frozen (TransformerLens's apply_ln_to_stack convention); the values sum to the logit.");
  m.def("ablate", [](const nn::Model& model, const py::object& tokens, const py::object& heads, const std::vector<int>& mlps,
                     const std::string& kind, const py::object& reference) {
          const auto ids = tokens_of(model, tokens, "ablate");
          lab::AblationSpec spec;
          spec.kind = lab::parse_ablation(kind);
          spec.heads = head_list(heads);
          spec.mlps = mlps;
          if (!reference.is_none())
            for (const py::handle r : reference) spec.reference.push_back(tokens_of(model, py::reinterpret_borrow<py::object>(r), "ablate"));
          Tensor logits;
          {
            py::gil_scoped_release release;
            lab::AblationHooks hooks(model, spec);
            logits = model.forward(ids, nullptr, &hooks);
          }
          return floats({static_cast<const float*>(logits.data()), static_cast<std::size_t>(logits.numel())},
                        {static_cast<py::ssize_t>(ids.size()), model.config().vocab});
        },
        py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("heads") = py::list(), py::arg("mlps") = std::vector<int>{},
        py::arg("kind") = "zero", py::arg("reference") = py::none(),
        "Logits with heads [(layer, head)] and MLPs [layer] ablated: kind 'zero', 'mean' or 'resample' (over `reference` token lists).");
  m.def("compare", [](const nn::Model& model, const py::object& clean, const py::object& corrupt, std::int64_t position, int answer,
                      int wrong, bool noising, bool positions) {
          const auto c = tokens_of(model, clean, "compare"), x = tokens_of(model, corrupt, "compare");
          lab::CompareOptions o;
          o.position = position;
          o.answer = answer;
          o.wrong = wrong;
          o.noising = noising;
          o.positions = positions;
          py::gil_scoped_release release;
          auto cmp = lab::compare(model, c, x, o);
          py::gil_scoped_acquire gil;
          return comparison_dict(cmp);
        },
        py::arg("model"), py::arg("clean"), py::arg("corrupt"), py::kw_only(), py::arg("position") = -1, py::arg("answer") = -1,
        py::arg("wrong") = -1, py::arg("noising") = true, py::arg("positions") = true,
        "Activation patching between a clean and a corrupted prompt: grids of the recovered fraction of logit(answer) − logit(wrong).");
  m.def("detect_heads", [](const nn::Model& model, const std::vector<int>& periods, int sequences, std::int64_t length, std::uint64_t seed) {
          lab::DetectorOptions o;
          o.periods = periods;
          o.sequences = sequences;
          o.length = length;
          o.seed = seed;
          py::gil_scoped_release release;
          auto det = lab::detect_heads(model, o);
          py::gil_scoped_acquire gil;
          return detectors_list(det);
        },
        py::arg("model"), py::kw_only(), py::arg("periods") = std::vector<int>{}, py::arg("sequences") = 4, py::arg("length") = 0,
        py::arg("seed") = 1,
        "Previous-token, duplicate-token, induction and fixed-offset scores of every head on repeated random sequences of several periods.");
  m.def("inspect", [](const nn::Model& model, const py::object& tokens, const std::string& out_dir, const py::object& ablate,
                      const std::string& ablation, const py::object& corrupt, bool detectors, bool emf) {
          const auto ids = tokens_of(model, tokens, "inspect");
          lab::InspectOptions o;
          o.title = py::isinstance<py::str>(tokens) ? tokens.cast<std::string>() : std::string();
          o.selection.full_matrices = false;
          o.detectors = detectors;
          o.emf = emf;
          o.ablation.kind = lab::parse_ablation(ablation);
          o.ablation.heads = head_list(ablate);
          if (!corrupt.is_none()) o.corrupt = tokens_of(model, corrupt, "inspect");
          py::gil_scoped_release release;
          const lab::Inspection ins = lab::inspect(model, ids, o);
          std::string path;
          if (!out_dir.empty()) path = observe::write_report(ins.rec, out_dir, ins.report);
          py::gil_scoped_acquire gil;
          py::dict d;
          d["report"] = path.empty() ? py::object(py::none()) : py::object(py::str(path));
          d["predictions"] = predictions_dict(*ins.report.predictions);
          d["lens"] = ins.report.lens ? py::object(lens_dict(*ins.report.lens)) : py::object(py::none());
          d["attribution"] = ins.report.attribution ? py::object(attribution_dict(*ins.report.attribution)) : py::object(py::none());
          d["detectors"] = ins.report.detectors ? py::object(detectors_list(*ins.report.detectors)) : py::object(py::none());
          d["comparison"] = ins.report.comparison ? py::object(comparison_dict(*ins.report.comparison)) : py::object(py::none());
          d["json"] = observe::report_json(ins.rec, ins.report);
          return d;
        },
        py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("out_dir") = "", py::arg("ablate") = py::none(),
        py::arg("ablation") = "zero", py::arg("corrupt") = py::none(), py::arg("detectors") = true, py::arg("emf") = true,
        "Every analysis of `attend inspect` on one prompt (and `attend compare` with corrupt=...); writes the report when out_dir is set.");
}

const Registrar registrar("lab", 70, bind);

}  // namespace
}  // namespace attend::python
