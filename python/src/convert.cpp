#include "convert.h"

#include <pybind11/numpy.h>

#include "core/check.h"

namespace attend::python {
namespace {

using detail::fail;

std::string type_name(const py::handle& obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// str(obj) for messages, never raising (a failing __str__ gives the type name).
std::string safe_str(const py::handle& obj) {
  PyObject* s = PyObject_Str(obj.ptr());
  if (!s) {
    PyErr_Clear();
    return "<" + type_name(obj) + ">";
  }
  Py_ssize_t n = 0;
  const char* u = PyUnicode_AsUTF8AndSize(s, &n);
  std::string out = u ? std::string(u, static_cast<std::size_t>(n)) : "<" + type_name(obj) + ">";
  if (!u) PyErr_Clear();
  Py_DECREF(s);
  return out;
}

bool is_bool(const py::handle& obj) {
  if (PyBool_Check(obj.ptr())) return true;
  const std::string t = type_name(obj);  // numpy.bool_ without importing numpy
  return (t == "bool_" || t == "bool") &&
         py::str(py::type::handle_of(obj).attr("__module__")).cast<std::string>() == "numpy";
}

bool is_text(const py::handle& obj) { return PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()); }

// A Python sequence we read element by element (list or tuple), or a tensor-like with tolist().
py::object as_list(const py::handle& obj) {
  if (PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr())) return py::reinterpret_borrow<py::object>(obj);
  if (!is_numpy_array(obj) && py::hasattr(obj, "__dlpack__") && py::hasattr(obj, "tolist")) {
    py::object l = obj.attr("tolist")();  // torch tensors: no numpy needed
    if (PyList_Check(l.ptr())) return l;
  }
  return py::none();
}

}  // namespace

std::string describe(const py::handle& obj) {
  if (py::hasattr(obj, "shape") && py::hasattr(obj, "dtype")) {
    std::string shape = safe_str(obj.attr("shape"));
    return type_name(obj) + " of dtype " + safe_str(obj.attr("dtype")) + " and shape " + shape;
  }
  PyObject* r = PyObject_Repr(obj.ptr());
  std::string s;
  if (r) {
    Py_ssize_t n = 0;
    const char* u = PyUnicode_AsUTF8AndSize(r, &n);
    if (u) s.assign(u, static_cast<std::size_t>(n));
    else PyErr_Clear();
    Py_DECREF(r);
  } else {
    PyErr_Clear();
  }
  if (s.empty()) return "<" + type_name(obj) + ">";
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s + (PyLong_Check(obj.ptr()) || PyFloat_Check(obj.ptr()) ? "" : " (" + type_name(obj) + ")");
}

std::int64_t to_int(const char* fn, const char* name, const py::handle& obj, std::int64_t lo, std::int64_t hi) {
  if (is_bool(obj) || is_text(obj)) fail(fn, name, " must be an integer, got ", describe(obj));
  PyObject* idx = PyNumber_Index(obj.ptr());
  if (!idx) {
    PyErr_Clear();
    fail(fn, name, " must be an integer, got ", describe(obj));
  }
  const py::object index = py::reinterpret_steal<py::object>(idx);
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  if (overflow != 0 || v < lo || v > hi) fail(fn, name, " = ", safe_str(index), " is outside [", lo, ", ", hi, "]");
  return v;
}

std::uint64_t to_uint64(const char* fn, const char* name, const py::handle& obj) {
  if (is_bool(obj) || is_text(obj)) fail(fn, name, " must be an integer, got ", describe(obj));
  PyObject* idx = PyNumber_Index(obj.ptr());
  if (!idx) {
    PyErr_Clear();
    fail(fn, name, " must be an integer, got ", describe(obj));
  }
  const py::object index = py::reinterpret_steal<py::object>(idx);
  const unsigned long long v = PyLong_AsUnsignedLongLong(idx);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    fail(fn, name, " = ", safe_str(index), " is outside [0, ", std::numeric_limits<std::uint64_t>::max(), "]");
  }
  return v;
}

double to_number(const char* fn, const char* name, const py::handle& obj) {
  if (is_bool(obj) || is_text(obj)) fail(fn, name, " must be a number, got ", describe(obj));
  const double v = PyFloat_AsDouble(obj.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    fail(fn, name, " must be a number, got ", describe(obj));
  }
  return v;
}

bool to_bool(const char* fn, const char* name, const py::handle& obj) {
  if (PyBool_Check(obj.ptr())) return obj.ptr() == Py_True;
  if (is_bool(obj)) return PyObject_IsTrue(obj.ptr()) == 1;
  if (PyLong_CheckExact(obj.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (overflow == 0 && (v == 0 || v == 1)) return v == 1;
  }
  fail(fn, name, " must be True or False, got ", describe(obj));
}

std::string to_text(const char* fn, const char* name, const py::handle& obj) {
  if (!PyUnicode_Check(obj.ptr())) fail(fn, name, " must be a str, got ", describe(obj));
  Py_ssize_t n = 0;
  const char* u = PyUnicode_AsUTF8AndSize(obj.ptr(), &n);
  if (!u) {
    PyErr_Clear();
    fail(fn, name, " is not valid UTF-8 text (it holds lone surrogate characters, as from bytes decoded with "
                   "errors='surrogateescape'); pass a str that encodes to UTF-8");
  }
  return std::string(u, static_cast<std::size_t>(n));
}

py::module_ numpy_or_fail(const char* fn) {
  try {
    return py::module_::import("numpy");
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_ImportError)) throw;
  }
  const std::string exe = py::str(py::module_::import("sys").attr("executable")).cast<std::string>();
  throw py::import_error(std::string(fn) + ": numpy is needed for this call (it reads or returns arrays) but cannot be "
                         "imported by " + exe + "; install numpy into that Python (python -m pip install numpy, or "
                         "Debian's python3-numpy for /usr/bin/python3)");
}

bool is_numpy_array(const py::handle& obj) {
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (!PyDict_GetItemString(modules, "numpy")) return false;
  return py::isinstance<py::array>(obj);
}

std::vector<float> to_floats(const char* fn, const char* name, const py::handle& obj) {
  const py::object list = as_list(obj);
  std::vector<float> out;
  if (!list.is_none()) {
    for (const py::handle x : list) {
      if (PyList_Check(x.ptr()) || PyTuple_Check(x.ptr())) fail(fn, name, " must be a 1-D sequence of numbers");
      out.push_back(static_cast<float>(to_number(fn, name, x)));
    }
    return out;
  }
  py::module_ np = numpy_or_fail(fn);
  const py::array raw = np.attr("asarray")(obj);
  const char kind = raw.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') fail(fn, name, " must hold numbers, got ", describe(raw));
  if (raw.ndim() != 1) fail(fn, name, " must be a 1-D array of numbers, got ", describe(raw));
  const py::array_t<float> a = np.attr("ascontiguousarray")(raw, "float32");  // numpy converts byte order too
  return std::vector<float>(a.data(), a.data() + a.size());
}

std::vector<std::int32_t> to_int32s(const char* fn, const char* name, const py::handle& obj, std::int64_t lo, std::int64_t hi) {
  std::vector<std::int32_t> out;
  auto check = [&](std::int64_t v, std::size_t i) {
    if (v < lo || v > hi) fail(fn, name, "[", i, "] = ", v, " is outside [", lo, ", ", hi, "]");
    out.push_back(static_cast<std::int32_t>(v));
  };
  const py::object list = as_list(obj);
  if (!list.is_none()) {
    std::size_t i = 0;
    for (const py::handle x : list) {
      const std::string item = std::string(name) + "[" + std::to_string(i) + "]";
      if (PyList_Check(x.ptr()) || PyTuple_Check(x.ptr())) fail(fn, name, " must be a 1-D sequence of integers");
      check(to_int(fn, item.c_str(), x, lo, hi), i);
      ++i;
    }
    return out;
  }
  py::module_ np = numpy_or_fail(fn);
  const py::array raw = np.attr("asarray")(obj);
  const char kind = raw.dtype().kind();
  if (kind != 'i' && kind != 'u') fail(fn, name, " must hold integers, got ", describe(raw));
  if (raw.ndim() != 1) fail(fn, name, " must be a 1-D array of integers, got ", describe(raw));
  if (kind == 'u' && raw.dtype().itemsize() == 8 && raw.size() > 0) {  // uint64 above 2**63 would wrap in int64
    const py::object big = np.attr("flatnonzero")(raw.attr("__gt__")(py::int_(kInt64Max)));
    if (py::len(big) > 0) {
      const py::object i = big.attr("__getitem__")(0);
      fail(fn, name, "[", safe_str(i), "] = ", safe_str(raw.attr("__getitem__")(i)), " is outside [", lo, ", ", hi, "]");
    }
  }
  const py::array_t<std::int64_t> a = np.attr("ascontiguousarray")(raw, "int64");  // exact for every integer dtype now
  for (py::ssize_t i = 0; i < a.size(); ++i) check(a.data()[i], static_cast<std::size_t>(i));
  return out;
}

void set_python_error(PyObject* type, const std::string& message) {
  const std::string m = message.empty() ? "attend: an error was raised without a message" : message;
  PyObject* s = PyUnicode_DecodeUTF8(m.data(), static_cast<Py_ssize_t>(m.size()), "backslashreplace");
  if (!s) {  // cannot happen with backslashreplace; keep a message anyway
    PyErr_Clear();
    PyErr_SetString(type, "attend: an error message could not be decoded");
    return;
  }
  PyErr_SetObject(type, s);
  Py_DECREF(s);
}

}  // namespace attend::python
