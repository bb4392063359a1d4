// Process-wide settings: threads and the SIMD path.
#include <string>

#include "attend/runtime.h"
#include "convert.h"
#include "core/check.h"
#include "registry.h"

namespace attend::python {
namespace {

Isa isa_from_name(const std::string& s) {
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (isa_name(i) == s) return i;
  detail::fail("set_isa", "unknown ISA '", s, "'; expected 'scalar', 'avx2', 'avx512' or None");
}

void bind(py::module_& m) {
  m.def(
      "set_num_threads",
      [](const py::object& n) { set_num_threads(static_cast<int>(to_int("set_num_threads", "n", n, 1, kMaxThreads))); },
      py::arg("n"), "Worker threads used by calls that do not pass threads= (default: the CPU count).");
  m.def("num_threads", &num_threads, "The global thread setting (see set_num_threads).");
  m.def(
      "isa_info",
      [] {
        py::dict d;
        d["detected"] = std::string(isa_name(detected_isa()));
        d["active"] = std::string(isa_name(active_isa()));
        return d;
      },
      "SIMD paths: {'detected': best this CPU supports, 'active': the one calls use}.");
  m.def(
      "set_isa",
      [](const py::object& name) {
        if (name.is_none()) clear_isa_override();
        else set_isa_override(isa_from_name(to_text("set_isa", "name", name)));
      },
      py::arg("name"),
      "Force a SIMD path ('scalar', 'avx2', 'avx512'; never above the detected one), or None for the best.");
}

const Registrar registrar("runtime", 0, bind);

}  // namespace
}  // namespace attend::python
