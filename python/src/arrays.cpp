#include "arrays.h"

#include <cstring>

#include "core/check.h"

namespace attend::python {
namespace {

using detail::fail;

// ---- DLPack (the stable C ABI of dlpack.h, version 0.x, as torch >= 1.10 exports it) ---------
struct DLDevice {
  std::int32_t device_type;  // 1 = CPU
  std::int32_t device_id;
};
struct DLDataType {
  std::uint8_t code;  // 0 int, 1 uint, 2 float, 4 bfloat, 5 complex, 6 bool
  std::uint8_t bits;
  std::uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  std::int32_t ndim;
  DLDataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // in elements; null = compact row-major
  std::uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

constexpr std::int32_t kDLCPU = 1;

const char* device_name(std::int32_t t) {
  switch (t) {
    case 2: return "CUDA";
    case 3: return "CUDA host";
    case 4: return "OpenCL";
    case 7: return "Vulkan";
    case 8: return "Metal";
    case 10: return "ROCm";
    default: return "non-CPU";
  }
}

std::string dl_dtype_name(const DLDataType& d) {
  const char* kinds[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  const std::string k = d.code < 7 ? kinds[d.code] : "code" + std::to_string(d.code);
  return k + std::to_string(d.bits) + (d.lanes != 1 ? "x" + std::to_string(d.lanes) : "");
}

std::string dtype_text(const py::handle& obj, const std::string& fallback) {
  if (!py::hasattr(obj, "dtype")) return fallback;
  return py::str(obj.attr("dtype")).cast<std::string>();
}

[[noreturn]] void bad_dtype(const char* fn, const char* name, const std::string& dname) {
  fail(fn, name, " has dtype ", dname, "; expected float32, float16 or bfloat16 (torch.bfloat16, ml_dtypes.bfloat16, "
       "or uint16 with dtype='bfloat16')");
}

void check_hint(const char* fn, const std::string& hint) {
  if (!hint.empty() && hint != "bfloat16")
    fail(fn, "dtype must be None or 'bfloat16' (for uint16 arrays holding bf16 bits), got '", hint, "'");
}

bool little_endian() {
  const std::uint16_t one = 1;
  std::uint8_t first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// The attend element type of a numpy array.
DType numpy_element_type(const char* fn, const char* name, const py::array& a, const std::string& hint) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  const std::string dname = py::str(py::handle(dt)).cast<std::string>();
  if (dt.byteorder() == (little_endian() ? '>' : '<'))
    fail(fn, name, " has non-native byte order (dtype '", py::str(dt.attr("str")).cast<std::string>(),
         "'); convert it first, e.g. ", name, ".astype(", name, ".dtype.newbyteorder('='))");
  if (kind == 'f' && size == 4) return DType::f32;
  if (kind == 'f' && size == 2) return DType::f16;
  if (dname == "bfloat16" && size == 2) return DType::bf16;  // ml_dtypes.bfloat16
  if ((kind == 'u' || kind == 'i') && size == 2) {
    if (hint == "bfloat16") return DType::bf16;
    fail(fn, name, " is ", dname, "; pass dtype='bfloat16' if it holds bf16 bits");
  }
  bad_dtype(fn, name, dname);
}

DType dlpack_element_type(const char* fn, const char* name, const py::handle& obj, const DLDataType& d,
                          const std::string& hint) {
  if (d.lanes == 1) {
    if (d.code == 2 && d.bits == 32) return DType::f32;
    if (d.code == 2 && d.bits == 16) return DType::f16;
    if (d.code == 4 && d.bits == 16) return DType::bf16;
    if ((d.code == 0 || d.code == 1) && d.bits == 16) {
      if (hint == "bfloat16") return DType::bf16;
      fail(fn, name, " is ", dtype_text(obj, dl_dtype_name(d)), "; pass dtype='bfloat16' if it holds bf16 bits");
    }
  }
  bad_dtype(fn, name, dtype_text(obj, dl_dtype_name(d)));
}

void check_rank(const char* fn, const char* name, int rank, int min_rank, int max_rank) {
  if (rank >= min_rank && rank <= max_rank) return;
  if (min_rank == max_rank) fail(fn, name, " must have ", min_rank, " dimensions, got ", rank);
  fail(fn, name, " must have ", min_rank, " to ", max_rank, " dimensions, got ", rank);
}

bool numpy_needs_copy(const py::array& a) {
  const auto item = static_cast<std::intptr_t>(a.itemsize());
  if (reinterpret_cast<std::uintptr_t>(a.data()) % static_cast<std::uintptr_t>(item) != 0) return true;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) <= 1) continue;  // the stride of a single-element dimension is never used
    if (a.strides(i) < 0 || a.strides(i) % item != 0) return true;
  }
  return false;
}

Input from_numpy(const char* fn, const char* name, py::array a, const std::string& hint, int min_rank, int max_rank,
                 bool output) {
  Input in;
  const DType t = numpy_element_type(fn, name, a, hint);
  in.rank = static_cast<int>(a.ndim());
  check_rank(fn, name, in.rank, min_rank, max_rank);
  if (output && !a.writeable()) fail(fn, name, " is read-only");
  if (numpy_needs_copy(a)) {  // unaligned or negative strides: the kernels need neither
    if (output) fail(fn, name, " must be aligned to its itemsize with non-negative strides (it is written in place)");
    a = numpy_or_fail(fn).attr("ascontiguousarray")(a);
    in.copied = true;
  }
  in.np_dtype = a.dtype();
  TensorView& v = in.view;
  v.data = const_cast<void*>(a.data());
  v.dtype = t;
  v.rank = in.rank;
  const auto item = static_cast<std::int64_t>(a.itemsize());
  for (int i = 0; i < in.rank; ++i) {
    v.shape[static_cast<std::size_t>(i)] = a.shape(i);
    v.stride[static_cast<std::size_t>(i)] = a.shape(i) <= 1 ? 0 : a.strides(i) / item;
  }
  in.owner = a;
  return in;
}

Input from_dlpack(const char* fn, const char* name, const py::handle& obj, const std::string& hint, int min_rank,
                  int max_rank) {
  if (py::hasattr(obj, "requires_grad") && py::bool_(obj.attr("requires_grad")))
    fail(fn, name, " requires grad; attend's torch entry points (attend.torch.scaled_dot_product_attention, "
         "attend.flash_attn_func) are differentiable, or pass ", name, ".detach()");
  py::object capsule;
  try {
    capsule = obj.attr("__dlpack__")();
  } catch (py::error_already_set& e) {
    fail(fn, name, " (", describe(obj), ") cannot be exported through DLPack: ", e.what());
  }
  PyObject* cap = capsule.ptr();
  if (!PyCapsule_IsValid(cap, "dltensor")) fail(fn, name, ": __dlpack__() did not return an unused DLPack capsule");
  auto* mt = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
  PyCapsule_SetName(cap, "used_dltensor");  // the capsule no longer owns it: we call the deleter
  Input in;
  in.dlpack = std::shared_ptr<void>(mt, [](void* p) {
    auto* m = static_cast<DLManagedTensor*>(p);
    if (m->deleter) {
      py::gil_scoped_acquire gil;  // a producer's deleter may release Python objects
      m->deleter(m);
    }
  });
  in.owner = py::reinterpret_borrow<py::object>(obj);
  const DLTensor& d = mt->dl_tensor;
  if (d.device.device_type != kDLCPU)
    fail(fn, name, " is on a ", device_name(d.device.device_type), " device; attend computes on the CPU (move it with .cpu())");
  const DType t = dlpack_element_type(fn, name, obj, d.dtype, hint);
  in.rank = d.ndim;
  check_rank(fn, name, in.rank, min_rank, max_rank);
  const auto item = static_cast<std::int64_t>(dtype_size(t));
  char* data = static_cast<char*>(d.data) + d.byte_offset;
  if (reinterpret_cast<std::uintptr_t>(data) % static_cast<std::uintptr_t>(item) != 0)
    fail(fn, name, " is not aligned to its element size");
  TensorView& v = in.view;
  v.data = data;
  v.dtype = t;
  v.rank = in.rank;
  std::int64_t compact = 1;
  for (int i = in.rank - 1; i >= 0; --i) {
    const auto ui = static_cast<std::size_t>(i);
    const std::int64_t n = d.shape[i];
    const std::int64_t s = d.strides ? d.strides[i] : compact;
    if (s < 0 && n > 1) fail(fn, name, " has a negative stride; pass a contiguous copy");
    v.shape[ui] = n;
    v.stride[ui] = n <= 1 ? 0 : s;
    compact *= n;
  }
  return in;
}

}  // namespace

Input as_input(const char* fn, const char* name, const py::handle& obj, const std::string& hint, int min_rank,
               int max_rank) {
  if (obj.is_none()) fail(fn, name, " is None");
  check_hint(fn, hint);
  if (is_numpy_array(obj)) return from_numpy(fn, name, py::reinterpret_borrow<py::array>(obj), hint, min_rank, max_rank, false);
  if (py::hasattr(obj, "__dlpack__")) return from_dlpack(fn, name, obj, hint, min_rank, max_rank);
  const py::array a = numpy_or_fail(fn).attr("asarray")(obj);  // nested lists and other array-likes
  return from_numpy(fn, name, a, hint, min_rank, max_rank, false);
}

Input as_output(const char* fn, const char* name, const py::handle& obj, const std::string& hint,
                const std::vector<std::int64_t>& shape, DType t) {
  if (obj.is_none()) fail(fn, name, " is None");
  check_hint(fn, hint);
  const int rank = static_cast<int>(shape.size());
  Input in;
  if (is_numpy_array(obj)) in = from_numpy(fn, name, py::reinterpret_borrow<py::array>(obj), hint, rank, rank, true);
  else if (py::hasattr(obj, "__dlpack__")) in = from_dlpack(fn, name, obj, hint, rank, rank);
  else fail(fn, name, " must be a numpy array or a CPU tensor, got ", describe(obj));
  std::vector<std::int64_t> got(in.view.shape.begin(), in.view.shape.begin() + rank);
  if (got != shape || in.view.dtype != t)
    fail(fn, name, " must have shape ", shape_text(shape), " and dtype ", python_dtype_name(t), ", got ", shape_text(got),
         " ", python_dtype_name(in.view.dtype));
  for (int i = 0; i < rank; ++i)
    if (in.view.shape[static_cast<std::size_t>(i)] > 1 && in.view.stride[static_cast<std::size_t>(i)] == 0)
      fail(fn, name, " has stride 0 in dimension ", i, " (a broadcast view cannot be written)");
  return in;
}

py::array new_array(const char* fn, DType t, const std::vector<std::int64_t>& shape, const py::object& like) {
  py::module_ np = numpy_or_fail(fn);
  py::object dt;
  if (t == DType::f32) dt = np.attr("dtype")("float32");
  else if (t == DType::f16) dt = np.attr("dtype")("float16");
  else if (like && !like.is_none()) dt = like;
  else {
    try {
      dt = np.attr("dtype")(py::module_::import("ml_dtypes").attr("bfloat16"));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_ImportError)) throw;
      dt = np.attr("dtype")("uint16");  // bf16 bits, as the inputs accept them
    }
  }
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  return py::array(py::reinterpret_borrow<py::dtype>(dt), s);
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

const char* python_dtype_name(DType t) {
  return t == DType::f32 ? "float32" : t == DType::f16 ? "float16" : "bfloat16";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace attend::python
