// attend.attention_backward and attend.reference.attention_backward.
#include "arrays.h"
#include "attend/backward.h"
#include "core/check.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

const char* const kBackwardDoc = R"doc(Gradients of attention (training), FlashAttention-2 style.

    q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D], v: [B, Nk, Hkv, Dv]  as in attend.attention (same
       layout, options and dtypes as the forward call)
    out:  [B, Nq, Hq, Dv]  the forward's output
    dout: [B, Nq, Hq, Dv]  gradient of the loss with respect to out
    lse:  float32 [B, Hq, Nq]  the forward's log-sum-exp (attention(..., return_lse=True))
    returns (dq, dk, dv) with the shapes, layout and dtype of q, k, v; with return_dbias=True
    (needs a float bias) also dbias: float32 in the bias's shape (broadcast dimensions summed).

  Pass the same options as the forward (causal, window, scale, softcap, bias, alibi, dropout_p and
  seed, ragged offsets). dk and dv sum over the query heads sharing a KV head. deterministic=True
  asks for results bitwise identical for any thread count. Inputs are used in place through their
  strides (a copy only when unaligned or with negative strides); the GIL is released during the
  computation. Raises ValueError (with the C++ message) for bad shapes or values.)doc";

py::tuple backward(bool reference, const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                   const py::object& out_obj, const py::object& dout_obj, const py::object& lse_obj,
                   const OptionArgs& args, bool return_dbias, bool deterministic) {
  const char* fn = reference ? "reference::attention_backward" : "attention_backward";
  ParsedOptions p;
  parse_options(fn, args, p);
  p.opts.deterministic = deterministic;
  const Input q = qkv_input(fn, "q", q_obj, p), k = qkv_input(fn, "k", k_obj, p), v = qkv_input(fn, "v", v_obj, p);
  const Input out = qkv_input(fn, "out", out_obj, p), dout = qkv_input(fn, "dout", dout_obj, p);
  const Input lse = as_input(fn, "lse", lse_obj, "", 3, 3);
  if (return_dbias && p.opts.bias.empty()) detail::fail(fn, "return_dbias=True needs a bias");
  if (return_dbias && p.bias_is_mask) detail::fail(fn, "return_dbias=True needs a float bias, not a bool mask");

  // q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D], v: [B, Nk, Hkv, Dv] (attend convention)
  auto grad_like = [&](const Input& x) {
    const TensorView& t = x.view;
    return new_array(t.dtype, caller_shape(p, t.dim(0), t.dim(1), t.dim(2), t.dim(3)), x.np_dtype);
  };
  py::array dq = grad_like(q), dk = grad_like(k), dv = grad_like(v);
  AttentionGrads g{bnhd_view(p, dq, q.view.dtype), bnhd_view(p, dk, k.view.dtype), bnhd_view(p, dv, v.view.dtype), {}};
  py::array dbias;
  if (return_dbias) {
    const TensorView& b = p.opts.bias;  // rank 4 (size-1 dimensions prepended)
    dbias = new_array(DType::f32, {b.dim(0), b.dim(1), b.dim(2), b.dim(3)}, q.np_dtype);
    g.dbias = view_of(dbias, DType::f32);
  }
  {
    py::gil_scoped_release release;  // every array above outlives this scope
    if (reference) attend::reference::attention_backward(q.view, k.view, v.view, out.view, dout.view, lse.view, g, p.opts);
    else attend::attention_backward(q.view, k.view, v.view, out.view, dout.view, lse.view, g, p.opts);
  }
  auto caller_rank = [](py::array a, const Input& like) -> py::array {
    if (like.array.ndim() == 3) return a.attr("reshape")(py::make_tuple(a.shape(1), a.shape(2), a.shape(3)));
    return a;
  };
  dq = caller_rank(dq, q);
  dk = caller_rank(dk, k);
  dv = caller_rank(dv, v);
  if (!return_dbias) return py::make_tuple(dq, dk, dv);
  py::tuple shape(p.bias_shape.size());
  for (std::size_t i = 0; i < p.bias_shape.size(); ++i) shape[i] = p.bias_shape[i];
  return py::make_tuple(dq, dk, dv, dbias.attr("reshape")(shape));
}

auto make_backward(bool reference) {
  return [reference](const py::object& q, const py::object& k, const py::object& v, const py::object& out,
                     const py::object& dout, const py::object& lse, const py::object& causal,
                     const py::object& is_causal, const py::object& window, const py::object& window_size,
                     const py::object& scale, const py::object& softmax_scale, double softcap, const py::object& bias,
                     const py::object& attn_mask, const py::object& alibi, const py::object& alibi_slopes,
                     double dropout_p, std::uint64_t seed, bool return_dbias, bool deterministic,
                     const std::string& layout, const py::object& dtype, const py::object& cu_seqlens_q,
                     const py::object& cu_seqlens_k, const py::object& seqlens_k, const py::object& threads) {
    const OptionArgs a{causal,    is_causal, window,       window_size, scale, softmax_scale, softcap,
                       bias,      attn_mask, alibi,        alibi_slopes, dropout_p, seed,      layout,
                       dtype,     cu_seqlens_q, cu_seqlens_k, seqlens_k, threads};
    return backward(reference, q, k, v, out, dout, lse, a, return_dbias, deterministic);
  };
}

template <typename F>
void def_backward(py::module_& m, const char* name, F f) {
  const py::none none;
  m.def(name, f, kBackwardDoc, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("dout"),
        py::arg("lse"), py::kw_only(), py::arg("causal") = none, py::arg("is_causal") = none,
        py::arg("window") = none, py::arg("window_size") = none, py::arg("scale") = none,
        py::arg("softmax_scale") = none, py::arg("softcap") = 0.0, py::arg("bias") = none,
        py::arg("attn_mask") = none, py::arg("alibi") = none, py::arg("alibi_slopes") = none,
        py::arg("dropout_p") = 0.0, py::arg("seed") = 0, py::arg("return_dbias") = false,
        py::arg("deterministic") = false, py::arg("layout") = "bshd", py::arg("dtype") = none,
        py::arg("cu_seqlens_q") = none, py::arg("cu_seqlens_k") = none, py::arg("seqlens_k") = none,
        py::arg("threads") = none);
}

void bind(py::module_& m) {
  def_backward(m, "attention_backward", make_backward(false));
  py::module_ ref = m.attr("reference");
  def_backward(ref, "attention_backward", make_backward(true));
}

const Registrar registrar("backward", 20, bind);

}  // namespace
}  // namespace attend::python
