// attend.KVCache and attend.PagedKVCache (see include/attend/kv_cache.h).
#include "kv_cache.h"

#include <pybind11/stl.h>

#include <cstring>

#include "arrays.h"
#include "core/check.h"

namespace attend::python {

DType dtype_from_python_name(const char* fn, const std::string& name) {
  if (name == "float32" || name == "f32") return DType::f32;
  if (name == "float16" || name == "f16") return DType::f16;
  if (name == "bfloat16" || name == "bf16") return DType::bf16;
  detail::fail(fn, "dtype must be 'float32', 'float16' or 'bfloat16', got '", name, "'");
}

namespace {

// k: [n, G, D], v: [n, G, Dv] appended to sequence s; returns the first new position.
template <typename Holder>
std::int64_t append(Holder& h, std::int64_t s, const py::object& k_obj, const py::object& v_obj) {
  const char* fn = "KVCache.append";
  const std::string hint = h.cache.dtype() == DType::bf16 ? "bfloat16" : "";  // uint16 = bf16 bits
  const Input k = as_input(fn, "k", k_obj, hint, 3, 3), v = as_input(fn, "v", v_obj, hint, 3, 3);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(h.mu);
  return h.cache.append(s, k.view, v.view);
}

template <typename Holder, typename F>
auto locked(const Holder& h, F f) {
  std::lock_guard<std::mutex> lock(h.mu);
  return f(h.cache);
}

// A copy of sequence s's stored keys or values as [stored, G, D].
py::array stored_copy(const PyKVCache& h, std::int64_t s, bool keys) {
  std::lock_guard<std::mutex> lock(h.mu);
  const TensorView t = keys ? h.cache.keys(s) : h.cache.values(s);
  py::array out = new_array(keys ? "KVCache.keys" : "KVCache.values", t.dtype, {t.dim(1), t.dim(2), t.dim(3)}, py::none());
  const TensorView o = view_of(out, t.dtype);
  const std::size_t row = static_cast<std::size_t>(t.dim(2) * t.dim(3)) * dtype_size(t.dtype);
  for (std::int64_t i = 0; i < t.dim(1); ++i)  // stored tokens are rows of G*D contiguous elements
    std::memcpy(static_cast<char*>(o.data) + static_cast<std::size_t>(i) * row,
                static_cast<const char*>(t.data) + static_cast<std::size_t>(i * t.stride[1]) * dtype_size(t.dtype), row);
  return out;
}

void bind(py::module_& m) {
  py::class_<PyKVCache>(m, "KVCache", R"doc(Contiguous KV cache for S sequences (one layer).

    KVCache(sequences, capacity, kv_heads, head_dim, value_dim=None, dtype='float32', window=-1, sink_tokens=0)
    Per sequence a buffer of `capacity` tokens of k [G, D] and v [G, Dv]; with window >= 0 only the
    most recent `window` tokens (plus the first `sink_tokens`) are kept, compacting when full.)doc")
      .def(py::init([](std::int64_t sequences, std::int64_t capacity, std::int64_t kv_heads, std::int64_t head_dim,
                       const py::object& value_dim, const py::object& dtype, std::int64_t window, std::int64_t sink_tokens) {
             const char* fn = "KVCache";
             const std::int64_t dv = value_dim.is_none() ? head_dim : to_int(fn, "value_dim", value_dim, kInt64Min, kInt64Max);
             return new PyKVCache(sequences, capacity, kv_heads, head_dim, dv,
                                  dtype_from_python_name(fn, to_text(fn, "dtype", dtype)), EvictionPolicy{window, sink_tokens});
           }),
           py::arg("sequences"), py::arg("capacity"), py::arg("kv_heads"), py::arg("head_dim"),
           py::arg("value_dim") = py::none(), py::arg("dtype") = py::str("float32"), py::arg("window") = -1,
           py::arg("sink_tokens") = 0)
      .def("append", &append<PyKVCache>, py::arg("s"), py::arg("k"), py::arg("v"),
           "Append k [n, G, D], v [n, G, Dv] (any float dtype; uint16 = bf16) to sequence s; returns the first new position.")
      .def("truncate", [](PyKVCache& h, std::int64_t s, std::int64_t n) { locked(h, [&](const KVCache&) { h.cache.truncate(s, n); return 0; }); },
           py::arg("s"), py::arg("length"), "Roll sequence s back to its first `length` tokens.")
      .def("clear", [](PyKVCache& h, std::int64_t s) { locked(h, [&](const KVCache&) { h.cache.clear(s); return 0; }); }, py::arg("s"))
      .def("length", [](const PyKVCache& h, std::int64_t s) { return locked(h, [&](const KVCache& c) { return c.length(s); }); },
           py::arg("s"), "Tokens appended to sequence s (= its next position).")
      .def("stored", [](const PyKVCache& h, std::int64_t s) { return locked(h, [&](const KVCache& c) { return c.stored(s); }); },
           py::arg("s"), "Tokens physically stored for sequence s.")
      .def("kept_positions", [](const PyKVCache& h, std::int64_t s) { return locked(h, [&](const KVCache& c) { return c.kept_positions(s); }); },
           py::arg("s"), "Positions that attention over sequence s sees.")
      .def("keys", [](const PyKVCache& h, std::int64_t s) { return stored_copy(h, s, true); }, py::arg("s"),
           "A copy of sequence s's stored keys, [stored, G, D] (bf16 as uint16).")
      .def("values", [](const PyKVCache& h, std::int64_t s) { return stored_copy(h, s, false); }, py::arg("s"),
           "A copy of sequence s's stored values, [stored, G, Dv] (bf16 as uint16).")
      .def_property_readonly("sequences", [](const PyKVCache& h) { return h.cache.sequences(); })
      .def_property_readonly("kv_heads", [](const PyKVCache& h) { return h.cache.kv_heads(); })
      .def_property_readonly("head_dim", [](const PyKVCache& h) { return h.cache.head_dim(); })
      .def_property_readonly("value_dim", [](const PyKVCache& h) { return h.cache.value_dim(); })
      .def_property_readonly("dtype", [](const PyKVCache& h) { return python_dtype_name(h.cache.dtype()); });

  py::class_<PyPagedKVCache>(m, "PagedKVCache", R"doc(Paged KV cache (PagedAttention): a pool of blocks shared by sequences.

    PagedKVCache(num_blocks, block_size, kv_heads, head_dim, value_dim=None, dtype='float32')
    fork(parent) shares the parent's blocks with a new sequence; shared blocks are copied on write.)doc")
      .def(py::init([](std::int64_t num_blocks, std::int64_t block_size, std::int64_t kv_heads, std::int64_t head_dim,
                       const py::object& value_dim, const py::object& dtype) {
             const char* fn = "PagedKVCache";
             const std::int64_t dv = value_dim.is_none() ? head_dim : to_int(fn, "value_dim", value_dim, kInt64Min, kInt64Max);
             return new PyPagedKVCache(num_blocks, block_size, kv_heads, head_dim, dv,
                                       dtype_from_python_name(fn, to_text(fn, "dtype", dtype)));
           }),
           py::arg("num_blocks"), py::arg("block_size"), py::arg("kv_heads"), py::arg("head_dim"),
           py::arg("value_dim") = py::none(), py::arg("dtype") = py::str("float32"))
      .def("add_sequence", [](PyPagedKVCache& h) { return locked(h, [&](const PagedKVCache&) { return h.cache.add_sequence(); }); },
           "A new empty sequence; returns its id.")
      .def("fork", [](PyPagedKVCache& h, std::int64_t p) { return locked(h, [&](const PagedKVCache&) { return h.cache.fork(p); }); },
           py::arg("parent"), "A new sequence sharing the parent's tokens; returns its id.")
      .def("remove_sequence", [](PyPagedKVCache& h, std::int64_t s) { locked(h, [&](const PagedKVCache&) { h.cache.remove_sequence(s); return 0; }); },
           py::arg("s"))
      .def("append", &append<PyPagedKVCache>, py::arg("s"), py::arg("k"), py::arg("v"),
           "Append k [n, G, D], v [n, G, Dv] to sequence s; returns the first new position.")
      .def("truncate", [](PyPagedKVCache& h, std::int64_t s, std::int64_t n) { locked(h, [&](const PagedKVCache&) { h.cache.truncate(s, n); return 0; }); },
           py::arg("s"), py::arg("length"))
      .def("length", [](const PyPagedKVCache& h, std::int64_t s) { return locked(h, [&](const PagedKVCache& c) { return c.length(s); }); }, py::arg("s"))
      .def("free_blocks", [](const PyPagedKVCache& h) { return locked(h, [&](const PagedKVCache& c) { return c.free_blocks(); }); })
      .def("block_table", [](const PyPagedKVCache& h, std::int64_t s) { return locked(h, [&](const PagedKVCache& c) { return c.block_table(s); }); },
           py::arg("s"), "The block ids of sequence s, in order.")
      .def_property_readonly("block_size", [](const PyPagedKVCache& h) { return h.cache.block_size(); })
      .def_property_readonly("kv_heads", [](const PyPagedKVCache& h) { return h.cache.kv_heads(); })
      .def_property_readonly("head_dim", [](const PyPagedKVCache& h) { return h.cache.head_dim(); })
      .def_property_readonly("value_dim", [](const PyPagedKVCache& h) { return h.cache.value_dim(); })
      .def_property_readonly("dtype", [](const PyPagedKVCache& h) { return python_dtype_name(h.cache.dtype()); });
}

const Registrar registrar("kv_cache", 30, bind);

}  // namespace
}  // namespace attend::python
