#pragma once
// The keyword options of attend's own attention entry points (attention, attention_backward and
// their references), parsed into attend::AttentionOptions. These are attend's names only:
// causal (bottom-right aligned), window, logit_scale, softcap, bias, alibi, dropout_p, seed.
// torch's and flash-attn's spellings belong to attend.torch and attend.flash_attn_* (Python), which
// translate their semantics onto these. Every value is range- and type-checked (convert.h).
#include <cstdint>
#include <string>
#include <vector>

#include "arrays.h"
#include "attend/attention.h"

namespace attend::python {

// The Python-level arguments, as received (None = the default).
struct OptionArgs {
  py::object causal = py::none();         // bool
  py::object window = py::none();         // (left, right); -1 = unbounded
  py::object logit_scale = py::none();    // float; None = 1/sqrt(D)
  py::object softcap = py::none();        // float; 0 = off
  py::object bias = py::none();           // float bias or bool mask, broadcastable to [B, Hq, Nq, Nk]
  py::object alibi = py::none();          // [Hq] slopes
  py::object dropout_p = py::none();      // float in [0, 1)
  py::object seed = py::none();           // int in [0, 2**64)
  py::object layout = py::none();         // "bshd" ([B, N, H, D], default) or "bhsd" ([B, H, N, D])
  py::object dtype = py::none();          // None or "bfloat16" (uint16 arrays hold bf16 bits)
  py::object cu_seqlens_q = py::none(), cu_seqlens_k = py::none(), seqlens_k = py::none();
  py::object threads = py::none();        // int in [1, kMaxThreads] or None (the global setting)
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

// The option keywords of a (*args, **kwargs) binding read into OptionArgs (absent = None); and a
// TypeError naming the first keyword that is not in `names`.
OptionArgs option_args(const py::kwargs& kw);
void check_keywords(const char* fn, const py::kwargs& kw, const char* const* names, std::size_t count);

// A q/k/v-like input in the attend convention [B, N, H, D], from the caller's layout (and rank 3
// [total, H, D] for packed batches).
Input qkv_input(const char* fn, const char* name, const py::handle& obj, const ParsedOptions& p);

// Shape of an output in the caller's layout and rank (`rank` 3: packed, batch dimension dropped),
// given its [B, N, H, Dx] form; and the [B, N, H, Dx] view of such an output.
std::vector<std::int64_t> caller_shape(const ParsedOptions& p, int rank, std::int64_t b, std::int64_t n,
                                       std::int64_t h, std::int64_t d);
TensorView bnhd_view(const ParsedOptions& p, const TensorView& caller_view);

// An output for [B, N, H, Dx] data in the caller's layout: the caller's `given` (checked, written
// in place) or a new numpy array. Returns the Python object and its [B, N, H, Dx] view.
struct Output {
  py::object object;
  Input held;        // keeps a caller-provided output's export alive
  TensorView view;   // attend convention
};
Output qkv_output(const char* fn, const char* name, const py::object& given, const ParsedOptions& p, int rank, DType t,
                  const py::object& like, std::int64_t b, std::int64_t n, std::int64_t h, std::int64_t d);

// A float32 output of exactly `shape` (lse, dbias): the caller's `given` or a new numpy array.
Output plain_output(const char* fn, const char* name, const py::object& given, const std::vector<std::int64_t>& shape);

// Rank-4 view of `v` with size-1 dimensions prepended (numpy broadcasting).
TensorView to_rank4(const TensorView& v);

}  // namespace attend::python
