#include "options.h"

#include <limits>
#include <optional>

#include "core/check.h"

namespace attend::python {
namespace {

using detail::fail;

// The value of an option that has two spellings; both given must agree.
py::object either(const char* fn, const char* a_name, const py::object& a, const char* b_name,
                  const py::object& b) {
  if (a.is_none()) return b;
  if (b.is_none()) return a;
  if (!a.equal(b)) fail(fn, a_name, " and ", b_name, " are the same option and were given different values");
  return a;
}

// Prepend size-1 dimensions (numpy broadcasting) to reach rank 4.
TensorView to_rank4(const TensorView& v) {
  if (v.rank == 4) return v;
  TensorView r = v;
  const int pad = 4 - v.rank;
  for (int i = 3; i >= 0; --i) {
    const auto ui = static_cast<std::size_t>(i);
    if (i >= pad) {
      r.shape[ui] = v.shape[static_cast<std::size_t>(i - pad)];
      r.stride[ui] = v.stride[static_cast<std::size_t>(i - pad)];
    } else {
      r.shape[ui] = 1;
      r.stride[ui] = 0;
    }
  }
  r.rank = 4;
  return r;
}

void parse_bias(const char* fn, const py::object& obj, ParsedOptions& p) {
  py::array a = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                               : py::array(py::module_::import("numpy").attr("asarray")(obj));
  if (a.dtype().kind() == 'b') {  // torch semantics: True takes part in attention -> 0, False -> -inf
    py::module_ np = py::module_::import("numpy");
    a = np.attr("where")(a, np.attr("float32")(0.0), np.attr("float32")(-std::numeric_limits<float>::infinity()));
    p.bias_is_mask = true;
  }
  p.bias = as_input(fn, "bias", a, "", 0, 4);
  p.bias_shape.assign(p.bias.view.shape.begin(), p.bias.view.shape.begin() + p.bias.view.rank);
  p.opts.bias = to_rank4(p.bias.view);
}

}  // namespace

void parse_options(const char* fn, const OptionArgs& a, ParsedOptions& p) {
  AttentionOptions& o = p.opts;
  if (a.layout == "bhsd") p.bhsd = true;
  else if (a.layout != "bshd") fail(fn, "layout must be 'bshd' ([B, N, H, D]) or 'bhsd' ([B, H, N, D]), got '", a.layout, "'");
  if (!a.dtype.is_none()) p.dtype_hint = py::str(a.dtype).cast<std::string>();
  if (!p.dtype_hint.empty() && p.dtype_hint != "bfloat16")
    fail(fn, "dtype must be None or 'bfloat16' (for uint16 arrays holding bf16 bits), got '", p.dtype_hint, "'");

  const py::object causal = either(fn, "causal", a.causal, "is_causal", a.is_causal);
  o.causal = !causal.is_none() && causal.cast<bool>();

  const py::object window = either(fn, "window", a.window, "window_size", a.window_size);
  if (!window.is_none()) {
    const auto seq = window.cast<py::sequence>();
    if (py::len(seq) != 2) fail(fn, "window must be a pair (left, right), got ", py::len(seq), " values");
    o.window_left = seq[0].cast<std::int64_t>();
    o.window_right = seq[1].cast<std::int64_t>();
  }

  const py::object scale = either(fn, "scale", a.scale, "softmax_scale", a.softmax_scale);
  if (!scale.is_none()) o.scale = scale.cast<float>();
  o.softcap = static_cast<float>(a.softcap);

  const py::object bias = either(fn, "bias", a.bias, "attn_mask", a.attn_mask);
  if (!bias.is_none()) parse_bias(fn, bias, p);

  const py::object alibi = either(fn, "alibi", a.alibi, "alibi_slopes", a.alibi_slopes);
  if (!alibi.is_none()) {
    p.alibi = to_floats(fn, "alibi_slopes", alibi);
    o.alibi_slopes = p.alibi;
  }

  o.dropout_p = static_cast<float>(a.dropout_p);
  o.dropout_seed = a.seed;

  if (!a.cu_seqlens_q.is_none()) p.cu_q = to_int32s(fn, "cu_seqlens_q", a.cu_seqlens_q);
  if (!a.cu_seqlens_k.is_none()) p.cu_k = to_int32s(fn, "cu_seqlens_k", a.cu_seqlens_k);
  if (!a.seqlens_k.is_none()) p.seqlens = to_int32s(fn, "seqlens_k", a.seqlens_k);
  if (!a.cu_seqlens_q.is_none() && p.cu_q.empty()) fail(fn, "cu_seqlens_q is empty");
  if (!a.cu_seqlens_k.is_none() && p.cu_k.empty()) fail(fn, "cu_seqlens_k is empty");
  if (!a.seqlens_k.is_none() && p.seqlens.empty()) fail(fn, "seqlens_k is empty");
  o.cu_seqlens_q = p.cu_q;
  o.cu_seqlens_k = p.cu_k;
  o.seqlens_k = p.seqlens;
  p.packed = !p.cu_q.empty() || !p.cu_k.empty();

  if (!a.threads.is_none()) {
    const int t = a.threads.cast<int>();
    if (t < 1) fail(fn, "threads must be >= 1 (or None for the global setting), got ", t);
    o.threads = t;
  }
}

Input qkv_input(const char* fn, const char* name, const py::handle& obj, const ParsedOptions& p) {
  Input in = as_input(fn, name, obj, p.dtype_hint, p.packed ? 3 : 4, 4);
  TensorView& v = in.view;
  if (v.rank == 3) {  // packed [total, H, D] (or [H, total, D]): batch 1 in front
    v = to_rank4(v);
  }
  if (p.bhsd) v = v.permuted(0, 2, 1, 3);
  return in;
}

std::vector<std::int64_t> caller_shape(const ParsedOptions& p, std::int64_t b, std::int64_t n,
                                       std::int64_t h, std::int64_t d) {
  return p.bhsd ? std::vector<std::int64_t>{b, h, n, d} : std::vector<std::int64_t>{b, n, h, d};
}

TensorView bnhd_view(const ParsedOptions& p, const py::array& a, DType t) {
  const TensorView v = view_of(a, t);
  return p.bhsd ? v.permuted(0, 2, 1, 3) : v;
}

}  // namespace attend::python
