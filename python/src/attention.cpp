// attend.attention and attend.reference.attention.
#include <utility>

#include "arrays.h"
#include "core/check.h"
#include "attend/attention.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

const char* const kForwardDoc = R"doc(Exact scaled-dot-product attention (forward).

    q: [B, Nq, Hq, D]   (layout='bhsd': [B, Hq, Nq, D]; packed: [total_q, Hq, D])
    k: [B, Nk, Hkv, D]  (Hq % Hkv == 0: grouped-query attention)
    v: [B, Nk, Hkv, Dv]
    returns out: [B, Nq, Hq, Dv] in q's layout and dtype, and with return_lse=True also
    lse: float32 [B, Hq, Nq] (log-sum-exp of each row's logits; -inf for a fully masked row).

  out_i = sum_j softmax_j(s_ij) v_j with s = scale*q.k, then softcap*tanh(s/softcap), + bias,
  - alibi_slopes[h]*|i'-j|, masked by causal / window (bottom-right aligned, as FlashAttention 2.1+).

  Arrays are float32, float16, or bfloat16 (uint16 arrays with dtype='bfloat16', or ml_dtypes
  bfloat16). Inputs are used in place through their strides (zero copy, any non-contiguous view);
  an input is copied only when its data is not aligned to its itemsize or a stride is negative.
  The GIL is released during the computation.

  causal / is_causal: hide keys after the query's position.
  window / window_size: (left, right) keys visible around the query; -1 unbounded.
  scale / softmax_scale: logit scale, default 1/sqrt(D).  softcap: 0 = off.
  bias / attn_mask: additive float bias broadcastable to [B, Hq, Nq, Nk] (-inf masks), or a bool
    mask (True = takes part), always in [B, H, Nq, Nk] order whatever the layout.
  alibi / alibi_slopes: [Hq] slopes.  dropout_p, seed: attention dropout, reproducible from seed.
  cu_seqlens_q, cu_seqlens_k: packed ragged batch (B + 1 int32 offsets; q, k, v [total, H, D]).
  seqlens_k: padded ragged batch ([B] valid key counts).  threads: None = attend.num_threads().
  out: optional preallocated output (C-contiguous, q's dtype, the shape returned), written in place.
  Raises ValueError (with the C++ message) for bad shapes or values.)doc";

py::object forward(bool reference, const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                   const OptionArgs& args, bool return_lse, const py::object& out_obj) {
  const char* fn = reference ? "reference::attention" : "attention";
  ParsedOptions p;
  parse_options(fn, args, p);
  const Input q = qkv_input(fn, "q", q_obj, p), k = qkv_input(fn, "k", k_obj, p), v = qkv_input(fn, "v", v_obj, p);
  // q: [B, Nq, Hq, D], v: [B, Nk, Hkv, Dv] (views in the attend convention)
  const std::int64_t B = q.view.dim(0), nq = q.view.dim(1), hq = q.view.dim(2), dv = v.view.dim(3);
  const std::vector<std::int64_t> shape = caller_shape(p, B, nq, hq, dv);
  py::array out;
  if (out_obj.is_none()) {
    out = new_array(q.view.dtype, shape, q.np_dtype);
  } else {  // the caller's preallocated output: written in place, no allocation per call
    if (q.array.ndim() == 3) detail::fail(fn, "out= is not supported for packed (3-D) inputs");
    out = out_obj.cast<py::array>();
    const bool shape_ok = out.ndim() == 4 && out.shape(0) == shape[0] && out.shape(1) == shape[1] && out.shape(2) == shape[2] &&
                          out.shape(3) == shape[3];
    if (!shape_ok || !out.dtype().equal(q.np_dtype) || !(out.flags() & py::array::c_style) || !out.writeable())
      detail::fail(fn, "out must be a writable C-contiguous array of q's dtype and shape [", shape[0], ", ", shape[1], ", ", shape[2],
                   ", ", shape[3], "]");
  }
  py::array lse;
  if (return_lse) lse = new_array(DType::f32, {B, hq, nq}, q.np_dtype);
  const TensorView out_view = bnhd_view(p, out, q.view.dtype);
  const TensorView lse_view = return_lse ? view_of(lse, DType::f32) : TensorView{};
  {
    py::gil_scoped_release release;  // q, k, v, p (and the copies they hold) outlive this scope
    if (reference) attend::reference::attention(q.view, k.view, v.view, out_view, p.opts, lse_view);
    else attend::attention(q.view, k.view, v.view, out_view, p.opts, lse_view);
  }
  if (q.array.ndim() == 3) out = out.attr("reshape")(py::make_tuple(out.shape(1), out.shape(2), out.shape(3)));
  if (return_lse) return py::make_tuple(out, lse);
  return out;
}

auto make_forward(bool reference) {
  return [reference](const py::object& q, const py::object& k, const py::object& v, const py::object& causal,
                     const py::object& is_causal, const py::object& window, const py::object& window_size,
                     const py::object& scale, const py::object& softmax_scale, double softcap, const py::object& bias,
                     const py::object& attn_mask, const py::object& alibi, const py::object& alibi_slopes,
                     double dropout_p, std::uint64_t seed, bool return_lse, const std::string& layout,
                     const py::object& dtype, const py::object& cu_seqlens_q, const py::object& cu_seqlens_k,
                     const py::object& seqlens_k, const py::object& threads, const py::object& out) {
    const OptionArgs a{causal,    is_causal, window,       window_size, scale, softmax_scale, softcap,
                       bias,      attn_mask, alibi,        alibi_slopes, dropout_p, seed,      layout,
                       dtype,     cu_seqlens_q, cu_seqlens_k, seqlens_k, threads};
    return forward(reference, q, k, v, a, return_lse, out);
  };
}

template <typename F>
void def_forward(py::module_& m, const char* name, F f) {
  const py::none none;
  m.def(name, f, kForwardDoc, py::arg("q"), py::arg("k"), py::arg("v"), py::kw_only(), py::arg("causal") = none,
        py::arg("is_causal") = none, py::arg("window") = none, py::arg("window_size") = none, py::arg("scale") = none,
        py::arg("softmax_scale") = none, py::arg("softcap") = 0.0, py::arg("bias") = none, py::arg("attn_mask") = none,
        py::arg("alibi") = none, py::arg("alibi_slopes") = none, py::arg("dropout_p") = 0.0, py::arg("seed") = 0,
        py::arg("return_lse") = false, py::arg("layout") = "bshd", py::arg("dtype") = none,
        py::arg("cu_seqlens_q") = none, py::arg("cu_seqlens_k") = none, py::arg("seqlens_k") = none,
        py::arg("threads") = none, py::arg("out") = none);
}

void bind(py::module_& m) {
  def_forward(m, "attention", make_forward(false));
  py::module_ ref = m.attr("reference");
  def_forward(ref, "attention", make_forward(true));
}

const Registrar registrar("attention", 10, bind);

}  // namespace
}  // namespace attend::python
