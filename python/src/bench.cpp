// attend._time_cpp_attention: times attend::attention from C++ on the caller's arrays, so
// bench/python_overhead.py can compare the Python call with the C++ call in one process.
#include <chrono>
#include <vector>

#include <pybind11/stl.h>

#include "arrays.h"
#include "attend/attention.h"
#include "core/check.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

// q, k, v as for attend.attention; returns the seconds of each of `runs` C++ calls (out
// preallocated once, outside the timed region, as `attend bench` does).
std::vector<double> time_cpp_attention(const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                                       bool causal, const py::object& layout, const py::object& threads, int runs) {
  const char* fn = "_time_cpp_attention";
  if (runs < 1) detail::fail(fn, "runs must be >= 1, got ", runs);
  OptionArgs a;
  a.causal = py::bool_(causal);
  a.layout = layout;
  a.threads = threads;
  ParsedOptions p;
  parse_options(fn, a, p);
  const Input q = qkv_input(fn, "q", q_obj, p), k = qkv_input(fn, "k", k_obj, p), v = qkv_input(fn, "v", v_obj, p);
  const Output out = qkv_output(fn, "out", py::none(), p, 4, q.view.dtype, q.np_dtype, q.view.dim(0), q.view.dim(1),
                                q.view.dim(2), v.view.dim(3));
  const TensorView out_view = out.view;
  std::vector<double> seconds;
  {
    py::gil_scoped_release release;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      attend::attention(q.view, k.view, v.view, out_view, p.opts);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  return seconds;
}

void bind(py::module_& m) {
  m.def("_time_cpp_attention", &time_cpp_attention, py::arg("q"), py::arg("k"), py::arg("v"), py::kw_only(),
        py::arg("causal") = false, py::arg("layout") = py::str("bshd"), py::arg("threads") = py::none(), py::arg("runs") = 5,
        "Seconds of each of `runs` attend::attention calls timed in C++ on these arrays (benchmarks only).");
}

const Registrar registrar("bench", 90, bind);

}  // namespace
}  // namespace attend::python
