// The extension module attend._attend: error translation, then every registered capability.
#include <algorithm>
#include <string>
#include <vector>

#include "attend/error.h"
#include "registry.h"

namespace attend::python {
namespace {

struct Entry {
  const char* name;
  int order;
  BindFn fn;
};

std::vector<Entry>& entries() {
  static std::vector<Entry> list;  // function-local: safe from static initialization order
  return list;
}

}  // namespace

Registrar::Registrar(const char* name, int order, BindFn fn) { entries().push_back({name, order, fn}); }

void bind_all(py::module_& m) {
  std::vector<Entry> list = entries();
  std::stable_sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
    return a.order != b.order ? a.order < b.order : std::string(a.name) < b.name;
  });
  for (const Entry& e : list) e.fn(m);
}

}  // namespace attend::python

PYBIND11_MODULE(_attend, m) {
  namespace py = pybind11;
  m.doc() = "attend: exact, fast CPU attention on numpy arrays (see attend/__init__.pyi).";
  m.attr("__version__") = ATTEND_VERSION;
  // attend::Error is a bad argument from the caller: ValueError with the C++ message.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const attend::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def_submodule("reference", "The double-precision specification (slow): same signatures as attend.");
  attend::python::bind_all(m);
}
