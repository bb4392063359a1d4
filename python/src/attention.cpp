// attend._attend.attention and attend._attend.reference.attention: the forward behind the Python
// entry points (attend.attention, attend.torch.scaled_dot_product_attention, attend.flash_attn_*).
// Taken as (*args, **kwargs) and checked here, so a bad call never reaches pybind11's overload
// resolution (whose message prints every argument); outputs may be given (out=, lse_out=: numpy
// arrays or CPU tensors written in place) or are returned as new numpy arrays.
#include <string>

#include "arrays.h"
#include "core/check.h"
#include "attend/attention.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

// The keywords of the binding (attend's names; the Python wrapper attend.attention documents them).
const char* const kForwardKeywords[] = {"causal", "window", "logit_scale", "softcap", "bias", "alibi", "dropout_p",
                                        "seed", "layout", "dtype", "cu_seqlens_q", "cu_seqlens_k", "seqlens_k",
                                        "threads", "return_lse", "out", "lse_out"};

py::object forward(bool reference, const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                   const OptionArgs& args, const py::object& return_lse_obj, const py::object& out_obj,
                   const py::object& lse_obj) {
  const char* fn = reference ? "reference.attention" : "attention";
  ParsedOptions p;
  parse_options(fn, args, p);
  const bool return_lse = !return_lse_obj.is_none() && to_bool(fn, "return_lse", return_lse_obj);
  const Input q = qkv_input(fn, "q", q_obj, p), k = qkv_input(fn, "k", k_obj, p), v = qkv_input(fn, "v", v_obj, p);
  // q: [B, Nq, Hq, D], v: [B, Nk, Hkv, Dv] (views in the attend convention)
  const std::int64_t B = q.view.dim(0), nq = q.view.dim(1), hq = q.view.dim(2), dv = v.view.dim(3);
  const Output out = qkv_output(fn, "out", out_obj, p, q.rank, q.view.dtype, q.np_dtype, B, nq, hq, dv);
  Output lse;
  if (return_lse || !lse_obj.is_none()) lse = plain_output(fn, "lse_out", lse_obj, {B, hq, nq});
  {
    py::gil_scoped_release release;  // q, k, v, p (and the copies they hold) outlive this scope
    if (reference) attend::reference::attention(q.view, k.view, v.view, out.view, p.opts, lse.view);
    else attend::attention(q.view, k.view, v.view, out.view, p.opts, lse.view);
  }
  if (return_lse) return py::make_tuple(out.object, lse.object);
  return out.object;
}

py::object forward_binding(bool reference, const py::args& args, const py::kwargs& kw) {
  const char* fn = reference ? "reference.attention" : "attention";
  if (args.size() != 3) detail::fail(fn, "takes q, k, v positionally, got ", args.size(), " positional arguments");
  check_keywords(fn, kw, kForwardKeywords, std::size(kForwardKeywords));
  auto get = [&](const char* key) { return kw.contains(key) ? py::object(kw[key]) : py::object(py::none()); };
  return forward(reference, args[0], args[1], args[2], option_args(kw), get("return_lse"), get("out"), get("lse_out"));
}

void bind(py::module_& m) {
  const char* doc = "Internal: the forward behind attend.attention (see its docstring).";
  m.def("attention", [](const py::args& a, const py::kwargs& kw) { return forward_binding(false, a, kw); }, doc);
  py::module_ ref = m.attr("reference");
  ref.def("attention", [](const py::args& a, const py::kwargs& kw) { return forward_binding(true, a, kw); }, doc);
}

const Registrar registrar("attention", 10, bind);

}  // namespace
}  // namespace attend::python
