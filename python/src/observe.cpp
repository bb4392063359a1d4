// attend.capture, attend.Recording and attend.write_report: the observatory on a Model from Python
// (see include/attend/observe.h, observe_report.h and tools/cmd_inspect.cpp).
#include <pybind11/stl.h>

#include <cstring>
#include <string>

#include "arrays.h"
#include "convert.h"
#include "attend/model.h"
#include "attend/observe.h"
#include "attend/observe_report.h"
#include "core/check.h"
#include "registry.h"

namespace attend::python {
namespace {

using observe::Recording;

// A float vector as a new float32 array of `shape` (copied; empty vector -> None).
py::object float_array(const std::vector<float>& v, std::vector<std::int64_t> shape) {
  if (v.empty()) return py::none();
  py::array a = new_array("Recording", DType::f32, shape, py::none());
  std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
  return a;
}

// Streaming statistics of one layer as arrays [H, N], one per RowStats field.
py::dict layer_stats(const Recording& r, int layer) {
  const observe::LayerRecord& lr = r.layer(layer);
  const std::int64_t H = r.heads, N = r.n;
  py::array_t<float> lse({H, N}), ent({H, N}), sink({H, N}), dist({H, N}), maxw({H, N});
  py::array_t<std::int32_t> argmax({H, N}), visible({H, N});
  for (std::int64_t i = 0; i < H * N; ++i) {
    const RowStats& s = lr.stats[static_cast<std::size_t>(i)];
    lse.mutable_data()[i] = s.lse;
    ent.mutable_data()[i] = s.entropy;
    sink.mutable_data()[i] = s.sink_mass;
    dist.mutable_data()[i] = s.mean_distance;
    maxw.mutable_data()[i] = s.max_weight;
    argmax.mutable_data()[i] = s.argmax;
    visible.mutable_data()[i] = s.visible;
  }
  py::dict d;
  d["lse"] = lse;
  d["entropy"] = ent;
  d["sink_mass"] = sink;
  d["mean_distance"] = dist;
  d["max_weight"] = maxw;
  d["argmax"] = argmax;
  d["visible"] = visible;
  return d;
}

py::object full_matrix(const Recording& r, int layer, int head, bool scores) {
  const observe::LayerRecord& lr = r.layer(layer);
  for (std::size_t i = 0; i < lr.full_heads.size(); ++i)
    if (lr.full_heads[i] == head) return float_array(scores ? lr.scores[i] : lr.weights[i], {r.n, r.n});
  detail::fail(scores ? "Recording.scores" : "Recording.weights", "layer ", layer, " head ", head, " was not recorded in full");
}

py::dict layer_activations(const Recording& r, int layer) {
  const observe::LayerRecord& lr = r.layer(layer);
  py::dict d;
  d["resid_pre"] = float_array(lr.resid_pre, {r.n, r.d_model});
  d["resid_mid"] = float_array(lr.resid_mid, {r.n, r.d_model});
  d["resid_post"] = float_array(lr.resid_post, {r.n, r.d_model});
  d["q"] = float_array(lr.q, {r.n, r.heads, r.head_dim});
  d["k"] = float_array(lr.k, {r.n, r.kv_heads, r.head_dim});
  d["v"] = float_array(lr.v, {r.n, r.kv_heads, r.head_dim});
  d["head_out"] = float_array(lr.head_out, {r.n, r.heads, r.head_dim});
  d["attn_out"] = float_array(lr.attn_out, {r.n, r.d_model});
  d["mlp_out"] = float_array(lr.mlp_out, {r.n, r.d_model});
  return d;
}

// Every head's thumbnail of one layer: (mean, max), each [H, R, C]; None when none was kept.
py::object layer_thumbnail(const Recording& r, int layer) {
  const observe::LayerRecord& lr = r.layer(layer);
  if (lr.thumb_rows == 0) return py::none();
  return py::make_tuple(float_array(lr.thumb_mean, {r.heads, lr.thumb_rows, lr.thumb_cols}),
                        float_array(lr.thumb_max, {r.heads, lr.thumb_rows, lr.thumb_cols}));
}

// The exact rows kept for every head (Selection::rows): (rows, weights [H, S, N]).
py::object layer_rows(const Recording& r, int layer) {
  const observe::LayerRecord& lr = r.layer(layer);
  if (lr.rows.empty()) return py::none();
  return py::make_tuple(lr.rows, float_array(lr.row_weights, {r.heads, static_cast<std::int64_t>(lr.rows.size()), r.n}));
}

std::vector<int> int_list(const char* name, const py::object& o) {
  if (o.is_none()) return {};
  std::vector<int> out;
  for (std::int32_t x : to_int32s("capture", name, o, 0, kInt32Max)) out.push_back(x);
  return out;
}

std::unique_ptr<Recording> capture(const nn::Model& model, const py::object& tokens_obj, const py::object& layers,
                                   const py::object& heads, bool full_matrices, bool activations, int sink_tokens,
                                   const std::string& title, std::int64_t thumbnail, const py::object& rows) {
  const nn::ModelConfig& cfg = model.config();
  std::vector<std::int32_t> ids;
  if (py::isinstance<py::str>(tokens_obj)) ids = model.encode(to_text("capture", "tokens", tokens_obj));
  else ids = to_int32s("capture", "tokens", tokens_obj);
  if (ids.empty() || static_cast<std::int64_t>(ids.size()) > cfg.context)
    detail::fail("capture", "got ", ids.size(), " tokens; the model takes 1 ..", cfg.context);
  auto rec = std::make_unique<Recording>();
  rec->title = title;
  for (std::int32_t t : ids) {
    rec->token_ids.push_back(t);
    rec->tokens.push_back(model.decode_token(t));
  }
  rec->n = static_cast<std::int64_t>(ids.size());
  observe::Selection sel;
  sel.layers = int_list("layers", layers);
  sel.full_heads = int_list("heads", heads);
  sel.full_matrices = full_matrices;
  sel.activations = activations;
  sel.sink_tokens = sink_tokens;
  sel.thumbnail = thumbnail;
  if (!rows.is_none()) sel.rows = rows.cast<std::vector<std::int64_t>>();
  for (int l : sel.layers)
    if (l < 0 || l >= cfg.layers) detail::fail("capture", "layer ", l, " is outside [0, ", cfg.layers, ")");
  for (int h : sel.full_heads)
    if (h < 0 || h >= cfg.heads) detail::fail("capture", "head ", h, " is outside [0, ", cfg.heads, ")");
  py::gil_scoped_release release;
  observe::RecordingSink sink(*rec, static_cast<int>(cfg.layers), cfg.heads, sel);
  (void)model.forward(ids, &sink);
  return rec;
}

void bind(py::module_& m) {
  py::class_<Recording>(m, "Recording", R"doc(What capture() recorded from one forward pass (L layers, H heads, N tokens).

  stats(layer): dict of [H, N] arrays, every layer: lse, entropy (nats), sink_mass, mean_distance,
    max_weight (float32), argmax, visible (int32) — streamed by the fused kernel, no N x N.
  weights(layer, head) / scores(layer, head): float32 [N, N] for the selected layers/heads.
  activations(layer): resid_pre/mid/post [N, E], q/head_out [N, H, D], k/v [N, G, D] (None if not kept).)doc")
      .def_readonly("title", &Recording::title)
      .def_readonly("n", &Recording::n)
      .def_readonly("heads", &Recording::heads)
      .def_readonly("d_model", &Recording::d_model)
      .def_readonly("head_dim", &Recording::head_dim)
      .def_property_readonly("num_layers", [](const Recording& r) { return static_cast<int>(r.layers.size()); })
      .def_property_readonly("tokens", [](const Recording& r) {
            py::list out;
            for (const std::string& t : r.tokens) out.append(py::bytes(t));
            return out;
          }, "Token text as bytes, [N].")
      .def_readonly("token_ids", &Recording::token_ids)
      .def("stats", &layer_stats, py::arg("layer"))
      .def("has_weights", &Recording::has_weights, py::arg("layer"), py::arg("head"))
      .def("weights", [](const Recording& r, int l, int h) { return full_matrix(r, l, h, false); }, py::arg("layer"), py::arg("head"))
      .def("scores", [](const Recording& r, int l, int h) { return full_matrix(r, l, h, true); }, py::arg("layer"), py::arg("head"))
      .def("activations", &layer_activations, py::arg("layer"))
      .def("thumbnail", &layer_thumbnail, py::arg("layer"),
           "Every head's thumbnail pooled in the kernel: (mean, max), each [H, R, C] (R = min(N, side)); None if not kept.")
      .def("rows", &layer_rows, py::arg("layer"), "The exact rows kept for every head: (rows, weights [H, len(rows), N]); None if none.")
      .def("exact_weights", [](const Recording& r, int l, int h) {
            const auto w = r.exact_weights(l, h);
            if (w.empty()) detail::fail("Recording.exact_weights", "layer ", l, " head ", h, " has no exact weights (full or a one-cell-per-entry thumbnail)");
            return float_array(std::vector<float>(w.begin(), w.end()), {r.n, r.n});
          }, py::arg("layer"), py::arg("head"), "[N, N]: recorded in full, or the thumbnail when it has one cell per entry.");

  m.def("capture", &capture, py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("layers") = py::none(),
        py::arg("heads") = py::none(), py::arg("full_matrices") = true, py::arg("activations") = true, py::arg("sink_tokens") = 1,
        py::arg("title") = "", py::arg("thumbnail") = 256, py::arg("rows") = py::none(),
        R"doc(Runs `model` on `tokens` ([N] ints, or a str to encode) with the observatory attached.

    layers / heads: which layers keep full [N, N] matrices and activations, and which heads of
    them (None: all). Streaming statistics are kept for every layer and head. Returns a Recording.)doc");
  m.def("write_report", [](const Recording& rec, const std::string& out_dir, int graph_top_k, double graph_min_weight) {
          observe::ReportOptions o;
          o.graph_top_k = graph_top_k;
          o.graph_min_weight = graph_min_weight;
          py::gil_scoped_release release;
          return observe::write_report(rec, out_dir, o);
        },
        py::arg("recording"), py::arg("out_dir"), py::kw_only(), py::arg("graph_top_k") = 2, py::arg("graph_min_weight") = 0.05,
        "Writes the observatory report (index.html, heatmaps, routing graphs, summary JSON) into out_dir; returns the HTML path.");
}

const Registrar registrar("observe", 60, bind);

}  // namespace
}  // namespace attend::python
