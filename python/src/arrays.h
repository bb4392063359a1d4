#pragma once
// numpy arrays <-> attend::TensorView. Inputs are viewed in place (zero copy: numpy's byte strides
// become element strides); a contiguous copy is made only when the data is not aligned to its
// itemsize, a stride is negative or not a multiple of the itemsize. Outputs are new numpy arrays.
//
// Element types: float32, float16, and bfloat16 given either as a uint16 array with
// dtype="bfloat16" or as an ml_dtypes.bfloat16 array.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attend/tensor.h"

namespace attend::python {

namespace py = pybind11;

// An input as the kernels see it. `array` owns the memory (the caller's array, or the copy) and
// must outlive every use of `view`.
struct Input {
  py::array array;
  TensorView view;
  py::dtype np_dtype;  // numpy dtype of `array` (outputs of the same element type reuse it)
  bool copied = false;
};

// The attend element type of `a`; `dtype_hint` is "" or "bfloat16" (applies to uint16 arrays).
DType element_type(const char* fn, const char* name, const py::array& a, const std::string& dtype_hint);

// Any array-like (numpy array, torch CPU tensor, nested lists of float32) as an Input of rank
// in [min_rank, 4].
Input as_input(const char* fn, const char* name, const py::handle& obj, const std::string& dtype_hint,
               int min_rank, int max_rank = 4);

// A new C-contiguous numpy array. `like` gives the numpy dtype for bf16 (uint16 or ml_dtypes);
// f32/f16 use numpy's own.
py::array new_array(DType t, const std::vector<std::int64_t>& shape, const py::dtype& like);

// View of an array this module allocated (C-contiguous, aligned).
TensorView view_of(const py::array& a, DType t);

// A 1-D array-like of numbers as a vector (copied; small: offsets, slopes).
std::vector<float> to_floats(const char* fn, const char* name, const py::handle& obj);
std::vector<std::int32_t> to_int32s(const char* fn, const char* name, const py::handle& obj);

}  // namespace attend::python
