#include "arrays.h"

#include <cstring>

#include "core/check.h"

namespace attend::python {
namespace {

using detail::fail;

bool needs_copy(const py::array& a) {
  const auto item = static_cast<std::intptr_t>(a.itemsize());
  if (reinterpret_cast<std::uintptr_t>(a.data()) % static_cast<std::uintptr_t>(item) != 0) return true;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) <= 1) continue;  // the stride of a single-element dimension is never used
    if (a.strides(i) < 0 || a.strides(i) % item != 0) return true;
  }
  return false;
}

py::array to_numpy(const py::handle& obj) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  return py::module_::import("numpy").attr("asarray")(obj);  // torch CPU tensors: no copy
}

}  // namespace

DType element_type(const char* fn, const char* name, const py::array& a, const std::string& hint) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  const std::string dname = py::str(py::handle(dt)).cast<std::string>();
  if (!hint.empty() && hint != "bfloat16")
    fail(fn, "dtype must be None or 'bfloat16' (for uint16 arrays holding bf16 bits), got '", hint, "'");
  if (kind == 'f' && size == 4) return DType::f32;
  if (kind == 'f' && size == 2) return DType::f16;
  if (dname == "bfloat16" && size == 2) return DType::bf16;  // ml_dtypes.bfloat16
  if ((kind == 'u' || kind == 'i') && size == 2) {
    if (hint == "bfloat16") return DType::bf16;
    fail(fn, name, " is ", dname, "; pass dtype='bfloat16' if it holds bf16 bits");
  }
  fail(fn, name, " has dtype ", dname, "; expected float32, float16 or bfloat16 (uint16 with dtype='bfloat16')");
}

Input as_input(const char* fn, const char* name, const py::handle& obj, const std::string& hint,
               int min_rank, int max_rank) {
  if (obj.is_none()) fail(fn, name, " is None");
  Input in;
  in.array = to_numpy(obj);
  const DType t = element_type(fn, name, in.array, hint);
  const auto rank = static_cast<int>(in.array.ndim());
  if (rank < min_rank || rank > max_rank) {
    if (min_rank == max_rank) fail(fn, name, " must have ", min_rank, " dimensions, got ", rank);
    fail(fn, name, " must have ", min_rank, " to ", max_rank, " dimensions, got ", rank);
  }
  if (needs_copy(in.array)) {  // unaligned or negative strides: the kernels need neither
    in.array = py::module_::import("numpy").attr("ascontiguousarray")(in.array);
    in.copied = true;
  }
  in.np_dtype = in.array.dtype();
  TensorView& v = in.view;
  v.data = const_cast<void*>(in.array.data());
  v.dtype = t;
  v.rank = rank;
  const auto item = static_cast<std::int64_t>(in.array.itemsize());
  for (int i = 0; i < rank; ++i) {
    v.shape[static_cast<std::size_t>(i)] = in.array.shape(i);
    v.stride[static_cast<std::size_t>(i)] = in.array.shape(i) <= 1 ? 0 : in.array.strides(i) / item;
  }
  return in;
}

py::array new_array(DType t, const std::vector<std::int64_t>& shape, const py::dtype& like) {
  py::dtype dt = t == DType::f32 ? py::dtype("float32") : t == DType::f16 ? py::dtype("float16") : like;
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  return py::array(dt, s);
}

TensorView view_of(const py::array& a, DType t) {
  TensorView v;
  v.data = const_cast<void*>(a.data());
  v.dtype = t;
  v.rank = static_cast<int>(a.ndim());
  const auto item = static_cast<std::int64_t>(a.itemsize());
  for (int i = 0; i < v.rank; ++i) {
    v.shape[static_cast<std::size_t>(i)] = a.shape(i);
    v.stride[static_cast<std::size_t>(i)] = a.strides(i) / item;
  }
  return v;
}

std::vector<float> to_floats(const char* fn, const char* name, const py::handle& obj) {
  auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(to_numpy(obj));
  if (!a || a.ndim() != 1) fail(fn, name, " must be a 1-D array of numbers");
  return std::vector<float>(a.data(), a.data() + a.size());
}

std::vector<std::int32_t> to_int32s(const char* fn, const char* name, const py::handle& obj) {
  py::array raw = to_numpy(obj);
  const char kind = raw.dtype().kind();
  if (kind != 'i' && kind != 'u') fail(fn, name, " must hold integers, got dtype ", py::str(py::handle(raw.dtype())).cast<std::string>());
  auto a = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>::ensure(raw);
  if (!a || a.ndim() != 1) fail(fn, name, " must be a 1-D array of integers");
  return std::vector<std::int32_t>(a.data(), a.data() + a.size());
}

}  // namespace attend::python
