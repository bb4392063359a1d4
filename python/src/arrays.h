#pragma once
// Arrays and tensors <-> attend::TensorView. Inputs are viewed in place (zero copy):
//   - numpy arrays through their byte strides (a contiguous copy is made only when the data is not
//     aligned to its itemsize or a stride is negative or not a multiple of the itemsize);
//   - anything with __dlpack__ on the CPU (torch tensors, including bfloat16) through DLPack;
//   - other array-likes (nested lists) through numpy.asarray.
// Non-native byte order, unsupported dtypes and non-CPU devices are errors naming the argument.
// Outputs are new numpy arrays, or caller-provided arrays/tensors written in place.
//
// Element types: float32, float16, and bfloat16 given as torch.bfloat16, as an ml_dtypes.bfloat16
// array, or as a uint16 array with dtype="bfloat16".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/tensor.h"
#include "convert.h"

namespace attend::python {

namespace py = pybind11;

// An input as the kernels see it. `owner` keeps the memory alive (the caller's array, the copy, or
// the DLPack export) and must outlive every use of `view`.
struct Input {
  py::object owner;                // numpy array (the caller's or the copy) or the exported object
  std::shared_ptr<void> dlpack;    // the DLManagedTensor, released when the last copy goes
  TensorView view;
  int rank = 0;                    // the caller's rank
  py::object np_dtype;             // numpy dtype for numpy inputs (outputs reuse it for bf16); None otherwise
  bool copied = false;
};

// Any array-like as an Input of rank in [min_rank, max_rank] (max_rank <= 4). `dtype_hint` is ""
// or "bfloat16" (uint16 holds bf16 bits).
Input as_input(const char* fn, const char* name, const py::handle& obj, const std::string& dtype_hint,
               int min_rank, int max_rank = 4);

// A caller-provided output: written in place, so never copied. It must have exactly `shape` and
// element type `t`, and no stride 0 on a dimension of size > 1 (rows would alias).
Input as_output(const char* fn, const char* name, const py::handle& obj, const std::string& dtype_hint,
                const std::vector<std::int64_t>& shape, DType t);

// A new C-contiguous numpy array (needs numpy; ImportError naming `fn` otherwise). `like` is the
// numpy dtype to use for bf16 (uint16 or ml_dtypes), or None: ml_dtypes.bfloat16 when installed,
// else uint16.
py::array new_array(const char* fn, DType t, const std::vector<std::int64_t>& shape, const py::object& like);

// View of an array this module allocated (C-contiguous, aligned).
TensorView view_of(const py::array& a, DType t);

// "float32", "float16", "bfloat16"
const char* python_dtype_name(DType t);

// "[2, 3, 4]"
std::string shape_text(const std::vector<std::int64_t>& shape);

}  // namespace attend::python
