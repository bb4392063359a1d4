// attend.residual_flow and attend.wasserstein2 (include/attend/residual_flow.h, transport.h).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "attend/model.h"
#include "attend/residual_flow.h"
#include "attend/transport.h"
#include "core/check.h"
#include "convert.h"
#include "registry.h"

namespace attend::python {
namespace {

// [rows, cols] float32 from any 2-D array-like; the shape is returned through rows/cols.
std::vector<float> matrix(const char* fn, const char* name, const py::handle& obj, std::int64_t& rows, std::int64_t& cols) {
  py::module_ np = numpy_or_fail(fn);
  const py::array a = np.attr("asarray")(obj, "float32");
  if (a.ndim() != 2) detail::fail(fn, name, " must be 2-D [n, d], got ", a.ndim(), " dimensions");
  rows = a.shape(0), cols = a.shape(1);
  return to_floats(fn, name, np.attr("ravel")(a));
}

py::dict to_dict(const lab::ResidualFlow& f) {
  py::list layers;
  for (const lab::ResidualLayerFlow& l : f.layers) {
    py::dict d;
    d["layer"] = l.layer;
    d["update"] = l.update;
    d["attention"] = l.attention;
    d["mlp"] = l.mlp;
    d["mean_update"] = l.mean_update;
    d["mean_attention"] = l.mean_attention;
    d["mean_mlp"] = l.mean_mlp;
    d["w2"] = l.w2 >= 0 ? py::object(py::float_(l.w2)) : py::object(py::none());
    d["clusters"] = l.clusters;
    d["last_cos"] = l.last_cos;
    d["last_attention_along"] = l.last_attention_along;
    d["last_mlp_along"] = l.last_mlp_along;
    layers.append(d);
  }
  py::dict out;
  out["tokens"] = f.tokens;
  out["predicted"] = f.predicted;
  out["clusters_embedded"] = f.clusters_embedded;
  out["embedded_last_cos"] = f.embedded_last_cos;
  out["layers"] = layers;
  return out;
}

void bind(py::module_& m) {
  m.def("residual_flow", [](const nn::Model& model, const py::object& tokens, double cluster_cos, bool transport) {
        const std::vector<std::int32_t> ids = to_int32s("attend.residual_flow", "tokens", tokens);
        lab::ResidualFlowOptions o;
        o.cluster_cos = cluster_cos;
        o.transport = transport;
        lab::ResidualFlow f;
        {
          py::gil_scoped_release release;
          f = lab::residual_flow(model, ids, o);
        }
        return to_dict(f);
      }, py::arg("model"), py::arg("tokens"), py::kw_only(), py::arg("cluster_cos") = 0.9, py::arg("transport") = true,
      "The residual stream as a flow: per layer each token's update and its attention and MLP parts, W2 between the "
      "clouds entering and leaving the block, clusters on the sphere, the last token against the prediction's unembedding.");
  m.def("wasserstein2", [](const py::object& x, const py::object& y) {
        std::int64_t nx = 0, dx = 0, ny = 0, dy = 0;
        const std::vector<float> a = matrix("attend.wasserstein2", "x", x, nx, dx), b = matrix("attend.wasserstein2", "y", y, ny, dy);
        if (nx != ny || dx != dy)
          detail::fail("attend.wasserstein2", "x is [", nx, ", ", dx, "] and y [", ny, ", ", dy, "]: need the same shape");
        if (nx > graph::kMaxExactTransport) detail::fail("attend.wasserstein2", nx, " points: limited to ", graph::kMaxExactTransport);
        py::gil_scoped_release release;
        return graph::wasserstein2(a, b, static_cast<int>(nx), static_cast<int>(dx));
      }, py::arg("x"), py::arg("y"),
      "Exact W2 between two equal-size point clouds x, y [n, d] with uniform weights (optimal assignment).");
}

const Registrar registrar("flow", 60, bind);

}  // namespace
}  // namespace attend::python
