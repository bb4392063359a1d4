#include "options.h"

#include <limits>

#include "core/check.h"

namespace attend::python {
namespace {

using detail::fail;

void parse_bias(const char* fn, const py::object& obj, ParsedOptions& p) {
  py::object b = obj;
  if (!is_numpy_array(b) && !py::hasattr(b, "__dlpack__")) b = numpy_or_fail(fn).attr("asarray")(b);
  if (is_numpy_array(b) && py::reinterpret_borrow<py::array>(b).dtype().kind() == 'b') {
    // torch semantics for a bool mask: True takes part in attention -> 0, False -> -inf
    py::module_ np = numpy_or_fail(fn);
    b = np.attr("where")(b, np.attr("float32")(0.0), np.attr("float32")(-std::numeric_limits<float>::infinity()));
    p.bias_is_mask = true;
  }
  p.bias = as_input(fn, "bias", b, "", 0, 4);
  p.bias_shape.assign(p.bias.view.shape.begin(), p.bias.view.shape.begin() + p.bias.view.rank);
  p.opts.bias = to_rank4(p.bias.view);
}

}  // namespace

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

void parse_options(const char* fn, const OptionArgs& a, ParsedOptions& p) {
  AttentionOptions& o = p.opts;
  const std::string layout = a.layout.is_none() ? "bshd" : to_text(fn, "layout", a.layout);
  if (layout == "bhsd") p.bhsd = true;
  else if (layout != "bshd") fail(fn, "layout must be 'bshd' ([B, N, H, D]) or 'bhsd' ([B, H, N, D]), got '", layout, "'");
  if (!a.dtype.is_none()) p.dtype_hint = to_text(fn, "dtype", a.dtype);
  if (!p.dtype_hint.empty() && p.dtype_hint != "bfloat16")
    fail(fn, "dtype must be None or 'bfloat16' (for uint16 arrays holding bf16 bits), got '", p.dtype_hint, "'");

  if (!a.causal.is_none()) o.causal = to_bool(fn, "causal", a.causal);
  if (!a.window.is_none()) {
    const py::handle w = a.window;
    if (!PySequence_Check(w.ptr()) || PyUnicode_Check(w.ptr()) || py::len(w) != 2)
      fail(fn, "window must be a pair (left, right) of ints (-1 = unbounded), got ", describe(w));
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(w);
    o.window_left = to_int(fn, "window[0]", seq[0], kInt64Min, kInt64Max);
    o.window_right = to_int(fn, "window[1]", seq[1], kInt64Min, kInt64Max);
  }
  if (!a.logit_scale.is_none()) o.scale = static_cast<float>(to_number(fn, "logit_scale", a.logit_scale));
  if (!a.softcap.is_none()) o.softcap = static_cast<float>(to_number(fn, "softcap", a.softcap));
  if (!a.bias.is_none()) parse_bias(fn, a.bias, p);
  if (!a.alibi.is_none()) {
    p.alibi = to_floats(fn, "alibi", a.alibi);
    o.alibi_slopes = p.alibi;
  }
  if (!a.dropout_p.is_none()) o.dropout_p = static_cast<float>(to_number(fn, "dropout_p", a.dropout_p));
  if (!a.seed.is_none()) o.dropout_seed = to_uint64(fn, "seed", a.seed);

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

  if (!a.threads.is_none()) o.threads = static_cast<int>(to_int(fn, "threads", a.threads, 1, kMaxThreads));
}

OptionArgs option_args(const py::kwargs& kw) {
  OptionArgs a;
  auto get = [&](const char* key) { return kw.contains(key) ? py::object(kw[key]) : py::object(py::none()); };
  a.causal = get("causal");
  a.window = get("window");
  a.logit_scale = get("logit_scale");
  a.softcap = get("softcap");
  a.bias = get("bias");
  a.alibi = get("alibi");
  a.dropout_p = get("dropout_p");
  a.seed = get("seed");
  a.layout = get("layout");
  a.dtype = get("dtype");
  a.cu_seqlens_q = get("cu_seqlens_q");
  a.cu_seqlens_k = get("cu_seqlens_k");
  a.seqlens_k = get("seqlens_k");
  a.threads = get("threads");
  return a;
}

void check_keywords(const char* fn, const py::kwargs& kw, const char* const* names, std::size_t count) {
  for (auto item : kw) {
    const std::string key = py::str(item.first);
    bool known = false;
    for (std::size_t i = 0; i < count; ++i) known = known || key == names[i];
    if (!known) throw py::type_error(std::string(fn) + ": unexpected keyword '" + key + "'");
  }
}

Input qkv_input(const char* fn, const char* name, const py::handle& obj, const ParsedOptions& p) {
  Input in = as_input(fn, name, obj, p.dtype_hint, p.packed ? 3 : 4, 4);
  in.view = bnhd_view(p, in.view);
  return in;
}

TensorView bnhd_view(const ParsedOptions& p, const TensorView& caller_view) {
  const TensorView v = to_rank4(caller_view);  // packed [total, H, D] (or [H, total, D]): batch 1 in front
  return p.bhsd ? v.permuted(0, 2, 1, 3) : v;
}

std::vector<std::int64_t> caller_shape(const ParsedOptions& p, int rank, std::int64_t b, std::int64_t n,
                                       std::int64_t h, std::int64_t d) {
  std::vector<std::int64_t> s = p.bhsd ? std::vector<std::int64_t>{b, h, n, d} : std::vector<std::int64_t>{b, n, h, d};
  if (rank == 3) s.erase(s.begin());
  return s;
}

Output qkv_output(const char* fn, const char* name, const py::object& given, const ParsedOptions& p, int rank, DType t,
                  const py::object& like, std::int64_t b, std::int64_t n, std::int64_t h, std::int64_t d) {
  const std::vector<std::int64_t> shape = caller_shape(p, rank, b, n, h, d);
  Output out;
  if (given.is_none()) {
    const py::array a = new_array(fn, t, shape, like);
    out.object = a;
    out.view = bnhd_view(p, view_of(a, t));
  } else {
    out.held = as_output(fn, name, given, p.dtype_hint, shape, t);
    out.object = given;
    out.view = bnhd_view(p, out.held.view);
  }
  return out;
}

Output plain_output(const char* fn, const char* name, const py::object& given, const std::vector<std::int64_t>& shape) {
  Output out;
  if (given.is_none()) {
    const py::array a = new_array(fn, DType::f32, shape, py::none());
    out.object = a;
    out.view = view_of(a, DType::f32);
  } else {
    out.held = as_output(fn, name, given, "", shape, DType::f32);
    out.object = given;
    out.view = out.held.view;
  }
  return out;
}

}  // namespace attend::python
