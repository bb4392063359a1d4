#pragma once
// Checked conversions of Python scalars, text and small integer/float sequences to C++ values.
// Every failure throws attend::Error (ValueError in Python) whose message names the function, the
// argument, the value and the accepted range: nothing is truncated, wrapped or cast silently.
// None of these needs numpy for Python scalars, lists and tuples.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace attend::python {

namespace py = pybind11;

inline constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t kMaxThreads = 1024;  // a worker pool grows to the request: cap it

// A short description of a Python value for messages: repr() of a scalar or short string cut to
// 60 characters; type, dtype and shape for arrays and tensors (never their contents).
std::string describe(const py::handle& obj);

// An int (or anything with __index__: numpy integers) in [lo, hi]. bool is refused.
std::int64_t to_int(const char* fn, const char* name, const py::handle& obj, std::int64_t lo, std::int64_t hi);
// An int in [0, 2**64 - 1] (seeds).
std::uint64_t to_uint64(const char* fn, const char* name, const py::handle& obj);
// A real number (int, float, numpy scalar, anything with __float__); bool and text are refused.
double to_number(const char* fn, const char* name, const py::handle& obj);
// True/False (or numpy.bool_, or the ints 0 and 1).
bool to_bool(const char* fn, const char* name, const py::handle& obj);
// A str as UTF-8; a str that cannot be encoded (lone surrogates) is an error saying so.
std::string to_text(const char* fn, const char* name, const py::handle& obj);

// The numpy module, or ImportError saying that `fn` needs numpy and this interpreter lacks it.
py::module_ numpy_or_fail(const char* fn);
// True when numpy is already imported and `obj` is a numpy.ndarray (never imports numpy).
bool is_numpy_array(const py::handle& obj);

// A 1-D sequence of numbers (list, tuple, numpy array, torch tensor) as float32 values (copied;
// small: slopes). A 1-D sequence of integers, each checked against [lo, hi] (offsets, lengths,
// token ids); `name[i] = value is outside [lo, hi]` names the first offender.
std::vector<float> to_floats(const char* fn, const char* name, const py::handle& obj);
std::vector<std::int32_t> to_int32s(const char* fn, const char* name, const py::handle& obj, std::int64_t lo = 0,
                                    std::int64_t hi = kInt32Max);

// Sets the Python error `type` with `message` decoded as UTF-8 (invalid bytes shown as \xNN), and
// a placeholder when the message is empty: every exception leaving the module has a message.
void set_python_error(PyObject* type, const std::string& message);

}  // namespace attend::python
