// attend.decode: new query tokens against a KVCache or PagedKVCache (see include/attend/decode.h).
#include <pybind11/stl.h>

#include <vector>

#include "arrays.h"
#include "attend/decode.h"
#include "core/check.h"
#include "kv_cache.h"

namespace attend::python {
namespace {

const char* const kDecodeDoc = R"doc(Decode attention over a KV cache (flash-decoding, exact).

    q: [S, T, Hq, D]  T new tokens per sequence, whose k/v were already appended to the cache
    cache: attend.KVCache or attend.PagedKVCache (G KV heads; Hq a multiple of G)
    returns out: [S, T, Hq, Dv] in q's dtype; with return_lse=True also lse: float32 [S, Hq, T].

  Query t of sequence s sits at position length(s) - T + t and sees the kept cached tokens at
  positions <= its own (causal), within `window` of it (-1: no extra window). scale /
  softmax_scale default 1/sqrt(D); softcap 0 = off; alibi / alibi_slopes: [Hq].
  sequences: which cache sequences q's S rows are (default 0..S-1). q is used in place through
  its strides (copied only when unaligned or with negative strides); the GIL is released and the
  cache locked against appends from other threads during the call. Bad input raises ValueError.)doc";

template <typename Holder>
py::object run(const char* fn, const py::object& q_obj, const Holder& h, const DecodeOptions& opts, const std::string& hint,
               bool return_lse) {
  const Input q = as_input(fn, "q", q_obj, hint, 4, 4);
  const std::int64_t S = q.view.dim(0), T = q.view.dim(1), hq = q.view.dim(2);
  py::array out = new_array(q.view.dtype, {S, T, hq, h.cache.value_dim()}, q.np_dtype);
  py::array lse;
  if (return_lse) lse = new_array(DType::f32, {S, hq, T}, q.np_dtype);
  const TensorView out_view = view_of(out, q.view.dtype), lse_view = return_lse ? view_of(lse, DType::f32) : TensorView{};
  {
    py::gil_scoped_release release;  // q, out, lse and the cache (held by the caller) outlive this
    std::lock_guard<std::mutex> lock(h.mu);
    attend::decode(q.view, h.cache, out_view, opts, lse_view);
  }
  if (return_lse) return py::make_tuple(out, lse);
  return out;
}

py::object decode_py(const py::object& q, const py::object& cache, const py::object& scale, const py::object& softmax_scale,
                     double softcap, std::int64_t window, const py::object& alibi, const py::object& alibi_slopes,
                     const py::object& sequences, bool return_lse, const py::object& dtype, const py::object& threads) {
  const char* fn = "decode";
  DecodeOptions o;
  if (!scale.is_none() && !softmax_scale.is_none() && !scale.equal(softmax_scale))
    detail::fail(fn, "scale and softmax_scale are the same option and were given different values");
  const py::object sc = scale.is_none() ? softmax_scale : scale;
  if (!sc.is_none()) o.scale = sc.cast<float>();
  o.softcap = static_cast<float>(softcap);
  o.window_left = window;
  std::vector<float> slopes;
  const py::object al = alibi.is_none() ? alibi_slopes : alibi;
  if (!al.is_none()) {
    slopes = to_floats(fn, "alibi_slopes", al);
    o.alibi_slopes = slopes;
  }
  std::vector<std::int64_t> seqs;
  if (!sequences.is_none()) {
    for (std::int32_t s : to_int32s(fn, "sequences", sequences)) seqs.push_back(s);
    o.sequences = seqs;
  }
  if (!threads.is_none()) {
    o.threads = threads.cast<int>();
    if (o.threads < 1) detail::fail(fn, "threads must be >= 1 (or None for the global setting), got ", o.threads);
  }
  const std::string hint = dtype.is_none() ? "" : py::str(dtype).cast<std::string>();
  if (py::isinstance<PyKVCache>(cache)) return run(fn, q, cache.cast<const PyKVCache&>(), o, hint, return_lse);
  if (py::isinstance<PyPagedKVCache>(cache)) return run(fn, q, cache.cast<const PyPagedKVCache&>(), o, hint, return_lse);
  detail::fail(fn, "cache must be an attend.KVCache or attend.PagedKVCache, got ",
               py::str(py::type::handle_of(cache).attr("__name__")).cast<std::string>());
}

void bind(py::module_& m) {
  const py::none none;
  m.def("decode", &decode_py, kDecodeDoc, py::arg("q"), py::arg("cache"), py::kw_only(), py::arg("scale") = none,
        py::arg("softmax_scale") = none, py::arg("softcap") = 0.0, py::arg("window") = -1, py::arg("alibi") = none,
        py::arg("alibi_slopes") = none, py::arg("sequences") = none, py::arg("return_lse") = false,
        py::arg("dtype") = none, py::arg("threads") = none);
}

const Registrar registrar("decode", 40, bind);

}  // namespace
}  // namespace attend::python
