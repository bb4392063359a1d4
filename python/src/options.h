#pragma once
// The keyword options shared by attend.attention, attention_backward and their references, parsed
// into attend::AttentionOptions. Names follow torch's scaled_dot_product_attention (is_causal,
// attn_mask, scale, dropout_p) and flash_attn_func (causal, window_size, softmax_scale, softcap,
// alibi_slopes); where the two spell a thing differently both are accepted (giving both with
// different values is an error).
#include <cstdint>
#include <string>
#include <vector>

#include "arrays.h"
#include "attend/attention.h"

namespace attend::python {

// The Python-level arguments, as received.
struct OptionArgs {
  py::object causal = py::none(), is_causal = py::none();                // bool or None
  py::object window = py::none(), window_size = py::none();              // (left, right); -1 = unbounded
  py::object scale = py::none(), softmax_scale = py::none();             // float or None (1/sqrt(D))
  double softcap = 0;
  py::object bias = py::none(), attn_mask = py::none();                  // float bias or bool mask
  py::object alibi = py::none(), alibi_slopes = py::none();              // [Hq] slopes or None
  double dropout_p = 0;
  std::uint64_t seed = 0;
  std::string layout = "bshd";             // "bshd": [B, N, H, D]; "bhsd": [B, H, N, D]
  py::object dtype = py::none();           // None or "bfloat16" (uint16 arrays hold bf16 bits)
  py::object cu_seqlens_q = py::none(), cu_seqlens_k = py::none(), seqlens_k = py::none();
  py::object threads = py::none();         // int or None (the global setting)
};

// Everything a call needs, owning the memory that `opts` points into. Not copyable or movable
// (opts holds spans into the vectors).
struct ParsedOptions {
  ParsedOptions() = default;
  ParsedOptions(const ParsedOptions&) = delete;
  ParsedOptions& operator=(const ParsedOptions&) = delete;

  AttentionOptions opts;
  bool bhsd = false;           // the caller's layout is [B, H, N, D]
  bool packed = false;         // cu_seqlens given: q, k, v may be rank 3 ([total, H, D])
  std::string dtype_hint;      // "" or "bfloat16"
  Input bias;                  // empty view when none
  std::vector<std::int64_t> bias_shape;  // the caller's bias shape (dbias is returned in it)
  bool bias_is_mask = false;   // a bool mask was converted to 0 / -inf
  std::vector<float> alibi;
  std::vector<std::int32_t> cu_q, cu_k, seqlens;
};

void parse_options(const char* fn, const OptionArgs& a, ParsedOptions& p);

// A q/k/v-like input in the attend convention [B, N, H, D], from the caller's layout (and rank 3
// [total, H, D] for packed batches).
Input qkv_input(const char* fn, const char* name, const py::handle& obj, const ParsedOptions& p);

// Shape of an output in the caller's layout, given its [B, N, H, Dx] form; and the
// [B, N, H, Dx] view of such an output array.
std::vector<std::int64_t> caller_shape(const ParsedOptions& p, std::int64_t b, std::int64_t n,
                                       std::int64_t h, std::int64_t d);
TensorView bnhd_view(const ParsedOptions& p, const py::array& a, DType t);

}  // namespace attend::python
