// attend._attend.attention_backward and its reference: the backward behind attend.attention_backward
// and the autograd functions of attend.torch / attend.flash_attn_*. (*args, **kwargs) as the forward;
// gradients may be given (dq_out=, dk_out=, dv_out=, dbias_out=) or are returned as new arrays.
#include <string>

#include "arrays.h"
#include "attend/backward.h"
#include "core/check.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

const char* const kBackwardKeywords[] = {"causal", "window", "logit_scale", "softcap", "bias", "alibi", "dropout_p",
                                         "seed", "layout", "dtype", "cu_seqlens_q", "cu_seqlens_k", "seqlens_k",
                                         "threads", "return_dbias", "deterministic", "dq_out", "dk_out", "dv_out",
                                         "dbias_out"};

py::object backward(bool reference, const py::args& args, const py::kwargs& kw) {
  const char* fn = reference ? "reference.attention_backward" : "attention_backward";
  if (args.size() != 6)
    detail::fail(fn, "takes q, k, v, out, dout, lse positionally, got ", args.size(), " positional arguments");
  check_keywords(fn, kw, kBackwardKeywords, std::size(kBackwardKeywords));
  auto get = [&](const char* key) { return kw.contains(key) ? py::object(kw[key]) : py::object(py::none()); };
  ParsedOptions p;
  parse_options(fn, option_args(kw), p);
  const bool return_dbias = !get("return_dbias").is_none() && to_bool(fn, "return_dbias", get("return_dbias"));
  if (!get("deterministic").is_none()) p.opts.deterministic = to_bool(fn, "deterministic", get("deterministic"));
  const Input q = qkv_input(fn, "q", args[0], p), k = qkv_input(fn, "k", args[1], p), v = qkv_input(fn, "v", args[2], p);
  const Input out = qkv_input(fn, "out", args[3], p), dout = qkv_input(fn, "dout", args[4], p);
  const Input lse = as_input(fn, "lse", args[5], "", 3, 3);
  const bool want_dbias = return_dbias || !get("dbias_out").is_none();
  if (want_dbias && p.opts.bias.empty()) detail::fail(fn, "return_dbias=True needs a bias");
  if (want_dbias && p.bias_is_mask) detail::fail(fn, "return_dbias=True needs a float bias, not a bool mask");

  // q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D], v: [B, Nk, Hkv, Dv] (attend convention)
  auto grad = [&](const char* name, const Input& x) {
    const TensorView& t = x.view;
    return qkv_output(fn, name, get(name), p, x.rank, t.dtype, x.np_dtype, t.dim(0), t.dim(1), t.dim(2), t.dim(3));
  };
  const Output dq = grad("dq_out", q), dk = grad("dk_out", k), dv = grad("dv_out", v);
  AttentionGrads g{dq.view, dk.view, dv.view, {}};
  Output dbias;
  if (want_dbias) {  // float32 in the caller's bias shape (broadcast dimensions summed)
    dbias = plain_output(fn, "dbias_out", get("dbias_out"), p.bias_shape);
    g.dbias = to_rank4(dbias.view);
  }
  {
    py::gil_scoped_release release;  // every array above outlives this scope
    if (reference) attend::reference::attention_backward(q.view, k.view, v.view, out.view, dout.view, lse.view, g, p.opts);
    else attend::attention_backward(q.view, k.view, v.view, out.view, dout.view, lse.view, g, p.opts);
  }
  if (!return_dbias) return py::make_tuple(dq.object, dk.object, dv.object);
  return py::make_tuple(dq.object, dk.object, dv.object, dbias.object);
}

void bind(py::module_& m) {
  const char* doc = "Internal: the backward behind attend.attention_backward (see its docstring).";
  m.def("attention_backward", [](const py::args& a, const py::kwargs& kw) { return backward(false, a, kw); }, doc);
  py::module_ ref = m.attr("reference");
  ref.def("attention_backward", [](const py::args& a, const py::kwargs& kw) { return backward(true, a, kw); }, doc);
}

const Registrar registrar("backward", 20, bind);

}  // namespace
}  // namespace attend::python
