// build_model: binds the parameters of an architecture's layout to the tensors of a source.
#include "nn/model_build.h"

#include <cstdint>
#include <cstring>
#include <set>

#include "attend/quant.h"
#include "core/check.h"

namespace attend::nn {

using I64 = std::int64_t;

std::string shape_string(const std::vector<I64>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

namespace {

bool ignored(const ModelArchitecture& a, const std::string& name) {
  for (const std::string& s : a.ignore_suffixes)
    if (name.ends_with(s)) return true;
  for (const std::string& p : a.ignore_prefixes)
    if (name.starts_with(p)) return true;
  return false;
}

// The shape the source must store for parameter `s` bound by `b`.
std::vector<I64> stored_shape(const ParamSpec& s, const TensorBinding& b) {
  if (s.kind == ParamKind::vector) return {b.stored_cols > 0 ? b.stored_cols : s.shape[0]};
  if (s.kind == ParamKind::table) return s.shape;
  if (b.transposed) return {s.shape[1], s.shape[0]};
  return {s.shape[0], b.stored_cols > 0 ? b.stored_cols : s.shape[1]};
}

// llama.cpp's convert_hf_to_gguf.py stores the rows of q_proj / k_proj (and their biases) of each
// head of D rows reordered for its interleaved RoPE: stored row h·D + 2j + s holds Hugging Face row
// h·D + s·D/2 + j (s in {0, 1}, j < D/2). The map gives, for each Hugging Face row, its stored row.
std::vector<std::int32_t> rope_row_map(I64 rows, I64 heads) {
  const I64 D = rows / heads;
  ATTEND_ASSERT(heads > 0 && rows % heads == 0 && D % 2 == 0);
  std::vector<std::int32_t> map(static_cast<std::size_t>(rows));
  for (I64 h = 0; h < heads; ++h)
    for (I64 s = 0; s < 2; ++s)
      for (I64 j = 0; j < D / 2; ++j) map[static_cast<std::size_t>(h * D + s * (D / 2) + j)] = static_cast<std::int32_t>(h * D + 2 * j + s);
  return map;
}

std::vector<float> permuted(const std::vector<float>& stored, const std::int32_t* row_map) {
  std::vector<float> out(stored.size());
  for (std::size_t r = 0; r < out.size(); ++r) out[r] = stored[static_cast<std::size_t>(row_map[r])];
  return out;
}

}  // namespace

std::unique_ptr<Model::Impl> build_model(const ModelArchitecture& arch, std::shared_ptr<const TensorSource> source,
                                         const std::string& where) {
  const char* fn = "Model::load";
  validate_config(arch.config, fn);
  auto impl = std::make_unique<Model::Impl>(arch.config, false);
  std::set<std::string> used;
  for (std::size_t i = 0; i < impl->specs.size(); ++i) {
    const ParamSpec& s = impl->specs[i];
    auto bit = arch.bindings.find(s.name);
    ATTEND_ASSERT(bit != arch.bindings.end());  // a reader binds every parameter of its layout
    const TensorBinding& b = bit->second;
    const SourceTensor* t = source->find(b.tensor);
    if (!t)
      detail::fail(fn, where, ": missing tensor '", b.tensor, "' (", arch.described_by, ": ", arch.config.layers,
                   " layers of width ", arch.config.d_model, ")");
    const std::vector<I64> want = stored_shape(s, b);
    if (t->shape != want) {
      if (b.why.empty())
        detail::fail(fn, where, ": '", b.tensor, "' should be ", shape_string(want), " by ", arch.described_by, ", but it is ",
                     shape_string(t->shape));
      detail::fail(fn, where, ": ", arch.described_by, " says ", b.why, ", so '", b.tensor, "' should be ", shape_string(want),
                   ", but it is ", shape_string(t->shape));
    }
    if (!t->supported)
      detail::fail(fn, where, ": tensor '", b.tensor, "' has dtype ", t->dtype_name,
                   "; weights must be F32, F16 or BF16 (GGUF also Q8_0, Q4_0, Q4_K, Q6_K)");
    used.insert(b.tensor);
    // llama.cpp's RoPE row order: the logical (Hugging Face) row order as a map, built once.
    const std::int32_t* row_map = nullptr;
    if (b.rope_heads > 0) {
      impl->row_maps.push_back(rope_row_map(want[0], b.rope_heads));
      row_map = impl->row_maps.back().data();
    }
    if (t->quant != GgmlType::f32) {  // ggml blocks along each stored row
      if (s.kind == ParamKind::vector) {  // rare (norms are F32 in GGUF files): dequantized once
        std::vector<float> copy(static_cast<std::size_t>(s.shape[0]));
        dequantize_row(t->quant, t->data, copy.data(), s.shape[0]);
        if (row_map) copy = permuted(copy, row_map);
        impl->owned.push_back(std::move(copy));
        impl->stored[i] = {impl->owned.back().data(), DType::f32, 1, s.shape[0], s.shape[0], false};
        continue;
      }
      if (!(s.kind == ParamKind::table || b.transposed) || b.stored_cols > 0)
        detail::fail(fn, where, ": tensor '", b.tensor, "' is ", t->dtype_name, "-quantized, which attend reads only as whole [out, in] rows");
      WeightView v{t->data, DType::f32, want[0], want[1], want[1], true};
      v.quant = t->quant;
      v.row_map = row_map;
      impl->stored[i] = v;
      continue;
    }
    const std::size_t es = dtype_size(t->dtype);
    const char* base = static_cast<const char*>(t->data) + static_cast<std::size_t>(b.col0) * es;
    const I64 ld = want.back();  // stored row length
    WeightView v;
    if (s.kind == ParamKind::vector) {
      v = {nullptr, t->dtype, 1, s.shape[0], s.shape[0], false};
    } else if (s.kind == ParamKind::table) {
      v = {base, t->dtype, s.shape[0], s.shape[1], ld, true};
    } else {
      v = {base, t->dtype, want[0], b.transposed ? s.shape[0] : s.shape[1], ld, b.transposed};
    }
    // Vectors (norm gains, biases) become f32 copies; a matrix stays where it is stored unless its
    // bytes are misaligned for its element type (possible in a hand-made file), then it is copied.
    const bool misaligned = reinterpret_cast<std::uintptr_t>(base) % es != 0;
    if (s.kind == ParamKind::vector || misaligned) {
      v.data = base;
      std::vector<float> copy(static_cast<std::size_t>(v.rows * v.cols));
      for (I64 r = 0; r < v.rows; ++r) {
        const char* row = base + static_cast<std::size_t>(r * ld) * es;
        if (misaligned) {  // element by element through memcpy: no misaligned loads
          for (I64 c = 0; c < v.cols; ++c) {
            std::uint32_t bits = 0;
            std::memcpy(&bits, row + static_cast<std::size_t>(c) * es, es);
            float f;
            if (t->dtype == DType::f32) std::memcpy(&f, &bits, 4);
            else f = t->dtype == DType::bf16 ? bf16_to_f32(static_cast<std::uint16_t>(bits)) : f16_to_f32(static_cast<std::uint16_t>(bits));
            copy[static_cast<std::size_t>(r * v.cols + c)] = f;
          }
        } else {
          convert_to_f32(row, t->dtype, copy.data() + r * v.cols, static_cast<std::size_t>(v.cols));
        }
      }
      if (row_map && s.kind == ParamKind::vector) copy = permuted(copy, row_map);  // a q/k bias
      impl->owned.push_back(std::move(copy));
      v.data = impl->owned.back().data();
      v.dtype = DType::f32;
      v.ld = v.cols;
    }
    if (s.kind != ParamKind::vector) v.row_map = row_map;
    impl->stored[i] = v;
  }
  std::vector<std::string> extra;
  for (const std::string& name : source->names())
    if (!used.count(name) && !ignored(arch, name)) extra.push_back(name);
  if (!extra.empty()) {
    std::string list;
    for (std::size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
    if (extra.size() > 5) list += ", ...";
    detail::fail(fn, where, ": ", extra.size(), " tensor(s) with no place in the model ", arch.described_by, " describes (",
                 arch.config.layers, " layers): ", list);
  }
  impl->source = std::move(source);
  return impl;
}

}  // namespace attend::nn
