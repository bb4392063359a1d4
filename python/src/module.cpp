// The extension module attend._attend: error translation, then every registered capability.
#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "attend/error.h"
#include "convert.h"
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
  m.doc() = "attend._attend: the C++ extension behind the Python package attend (see attend/__init__.pyi).";
  m.attr("__version__") = ATTEND_VERSION;
  // attend::Error is a bad argument from the caller: ValueError with the C++ message. Every C++
  // exception's message is decoded leniently (a path or a token may hold bytes that are not UTF-8;
  // PyErr_SetString would then raise with an EMPTY message) and is never empty.
  py::register_exception_translator([](std::exception_ptr p) {
    using attend::python::set_python_error;
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::error_already_set&) {
      throw;  // a Python exception: pybind11 restores it as raised
    } catch (const py::builtin_exception&) {
      throw;  // pybind11's own (type_error, import_error, ...): their messages are ours
    } catch (const attend::Error& e) {
      set_python_error(PyExc_ValueError, e.what());
    } catch (const std::bad_alloc&) {
      set_python_error(PyExc_MemoryError, "attend: out of memory (std::bad_alloc)");
    } catch (const std::invalid_argument& e) {
      set_python_error(PyExc_ValueError, e.what());
    } catch (const std::domain_error& e) {
      set_python_error(PyExc_ValueError, e.what());
    } catch (const std::length_error& e) {
      set_python_error(PyExc_ValueError, e.what());
    } catch (const std::out_of_range& e) {
      set_python_error(PyExc_IndexError, e.what());
    } catch (const std::exception& e) {
      set_python_error(PyExc_RuntimeError, e.what());
    }
  });
  m.def_submodule("reference", "The double-precision specification (slow): internal; see attend.reference.");
  attend::python::bind_all(m);
}
