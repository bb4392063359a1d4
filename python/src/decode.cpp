// attend._attend.decode: new query tokens against a KVCache or PagedKVCache (include/attend/decode.h),
// behind the Python wrapper attend.decode. (*args, **kwargs) as attention.cpp.
#include <string>
#include <vector>

#include "arrays.h"
#include "attend/decode.h"
#include "core/check.h"
#include "kv_cache.h"
#include "options.h"
#include "registry.h"

namespace attend::python {
namespace {

const char* const kDecodeKeywords[] = {"logit_scale", "softcap", "window", "alibi", "sequences", "return_lse",
                                       "dtype", "threads", "out", "lse_out"};

template <typename Holder>
py::object run(const char* fn, const py::object& q_obj, const Holder& h, const DecodeOptions& opts, const std::string& hint,
               bool return_lse, const py::object& out_obj, const py::object& lse_obj) {
  const Input q = as_input(fn, "q", q_obj, hint, 4, 4);
  // q: [S, T, Hq, D] -> out: [S, T, Hq, Dv], lse: [S, Hq, T]
  const std::int64_t S = q.view.dim(0), T = q.view.dim(1), hq = q.view.dim(2);
  ParsedOptions layout;  // [B, N, H, D] as given
  layout.dtype_hint = hint;
  const Output out = qkv_output(fn, "out", out_obj, layout, 4, q.view.dtype, q.np_dtype, S, T, hq, h.cache.value_dim());
  Output lse;
  if (return_lse || !lse_obj.is_none()) lse = plain_output(fn, "lse_out", lse_obj, {S, hq, T});
  {
    py::gil_scoped_release release;  // q, out, lse and the cache (held by the caller) outlive this
    std::lock_guard<std::mutex> lock(h.mu);
    attend::decode(q.view, h.cache, out.view, opts, lse.view);
  }
  if (return_lse) return py::make_tuple(out.object, lse.object);
  return out.object;
}

py::object decode_py(const py::args& args, const py::kwargs& kw) {
  const char* fn = "decode";
  if (args.size() != 2) detail::fail(fn, "takes q and cache positionally, got ", args.size(), " positional arguments");
  check_keywords(fn, kw, kDecodeKeywords, std::size(kDecodeKeywords));
  auto get = [&](const char* key) { return kw.contains(key) ? py::object(kw[key]) : py::object(py::none()); };
  DecodeOptions o;
  if (!get("logit_scale").is_none()) o.scale = static_cast<float>(to_number(fn, "logit_scale", get("logit_scale")));
  if (!get("softcap").is_none()) o.softcap = static_cast<float>(to_number(fn, "softcap", get("softcap")));
  if (!get("window").is_none()) o.window_left = to_int(fn, "window", get("window"), kInt64Min, kInt64Max);
  std::vector<float> slopes;
  if (!get("alibi").is_none()) {
    slopes = to_floats(fn, "alibi", get("alibi"));
    o.alibi_slopes = slopes;
  }
  std::vector<std::int64_t> seqs;
  if (!get("sequences").is_none()) {
    for (std::int32_t s : to_int32s(fn, "sequences", get("sequences"))) seqs.push_back(s);
    o.sequences = seqs;
  }
  if (!get("threads").is_none()) o.threads = static_cast<int>(to_int(fn, "threads", get("threads"), 1, kMaxThreads));
  const bool return_lse = !get("return_lse").is_none() && to_bool(fn, "return_lse", get("return_lse"));
  const std::string hint = get("dtype").is_none() ? "" : to_text(fn, "dtype", get("dtype"));
  const py::object q = args[0], cache = args[1];
  if (py::isinstance<PyKVCache>(cache))
    return run(fn, q, cache.cast<const PyKVCache&>(), o, hint, return_lse, get("out"), get("lse_out"));
  if (py::isinstance<PyPagedKVCache>(cache))
    return run(fn, q, cache.cast<const PyPagedKVCache&>(), o, hint, return_lse, get("out"), get("lse_out"));
  detail::fail(fn, "cache must be an attend.KVCache or attend.PagedKVCache, got ", describe(cache));
}

void bind(py::module_& m) {
  m.def("decode", &decode_py, "Internal: the decode behind attend.decode (see its docstring).");
}

const Registrar registrar("decode", 40, bind);

}  // namespace
}  // namespace attend::python
