#pragma once
// How the module is assembled: each capability lives in one file of python/src/ and registers a
// function that adds its bindings, so adding a capability (KV cache, decode, model, observatory)
// touches no other file:
//
//   namespace { void bind(py::module_& m) { m.def(...); } const Registrar r("decode", 40, bind); }
//
// `order` fixes the sequence (lower first) so e.g. types are registered before functions use them.
#include <pybind11/pybind11.h>

namespace attend::python {

namespace py = pybind11;
using BindFn = void (*)(py::module_& m);

struct Registrar {
  Registrar(const char* name, int order, BindFn fn);
};

// Runs every registered binder in order (called once from PYBIND11_MODULE).
void bind_all(py::module_& m);

}  // namespace attend::python
