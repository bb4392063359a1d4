// Model::Impl's storage: where each parameter's values are (views), reading them as f32 in attend's
// layout, making a loaded model trainable; and the decoder's KV caches, grown on demand.
#include <algorithm>

#include "core/check.h"
#include "core/memory.h"
#include "nn/model_impl.h"

namespace attend::nn {

using I64 = std::int64_t;

std::size_t Model::Impl::spec_at(I64 off) const {
  const auto it = std::lower_bound(specs.begin(), specs.end(), off, [](const ParamSpec& s, I64 o) { return s.offset < o; });
  ATTEND_ASSERT(it != specs.end() && it->offset == off);
  return static_cast<std::size_t>(it - specs.begin());
}

const float* Model::Impl::p(I64 off) const {
  if (off < 0) return nullptr;
  if (trainable()) return params.data() + off;
  const WeightView& v = stored[spec_at(off)];
  ATTEND_ASSERT(v.dtype == DType::f32 && v.ld == v.cols);  // a loaded model's vectors are f32 copies
  return static_cast<const float*>(v.data);
}

// Views over params: linear [I, O] (x·W), tables [rows, E] (rows are outputs when unembedding).
void Model::Impl::bind_params() {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const ParamSpec& s = specs[i];
    const I64 rows = s.shape.size() == 2 ? s.shape[0] : 1, cols = s.shape.back();
    stored[i] = {params.data() + s.offset, DType::f32, rows, cols, cols, s.kind == ParamKind::table};
  }
}

// values in spec.shape, f32: a linear stored [O, I] is transposed back to [I, O]
std::vector<float> Model::Impl::materialize(const ParamSpec& s) const {
  std::vector<float> out(static_cast<std::size_t>(s.size));
  const WeightView& v = stored[spec_at(s.offset)];
  if (s.kind == ParamKind::linear && v.out_rows) {
    const I64 I = s.shape[0], O = s.shape[1];
    std::vector<float> row(static_cast<std::size_t>(I));
    for (I64 o = 0; o < O; ++o) {
      weight_row(v, o, row.data());
      for (I64 i = 0; i < I; ++i) out[static_cast<std::size_t>(i * O + o)] = row[static_cast<std::size_t>(i)];
    }
  } else {
    for (I64 r = 0; r < v.rows; ++r) weight_row(v, r, out.data() + r * v.cols);
  }
  return out;
}

void Model::Impl::make_trainable() {
  if (trainable()) return;
  core::check_allocation("Model::make_trainable", 2 * static_cast<std::uint64_t>(param_count) * sizeof(float));
  std::vector<float> values(static_cast<std::size_t>(param_count));
  for (const ParamSpec& s : specs) {
    const std::vector<float> m = materialize(s);
    std::copy(m.begin(), m.end(), values.begin() + s.offset);
  }
  params = std::move(values);
  grads.assign(params.size(), 0.0f);
  bind_params();
  owned.clear();
  row_maps.clear();
  source.reset();
}

LayerCaches::LayerCaches(const ModelConfig& c, I64 sequences, DType dtype) : config_(c), dtype_(dtype) {
  capacity = std::min<I64>(c.context, 64);
  const I64 D = c.head_size();
  layers.reserve(static_cast<std::size_t>(c.layers));
  for (I64 l = 0; l < c.layers; ++l) layers.emplace_back(sequences, capacity, c.kv_heads, D, D, dtype_);
}

void LayerCaches::reserve(I64 tokens) {
  if (tokens <= capacity) return;
  const I64 grown = std::min(config_.context, std::max(tokens, 2 * capacity));  // doubling: amortised O(1) copies per token
  const I64 D = config_.head_size(), G = config_.kv_heads, S = sequences();
  core::check_allocation("Decoder", 2 * static_cast<std::uint64_t>(S * grown * G * D * config_.layers) * dtype_size(dtype_));
  for (KVCache& kc : layers) {
    KVCache bigger(S, grown, G, D, D, dtype_);
    for (I64 s = 0; s < S; ++s)
      if (const I64 n = kc.length(s); n > 0)
        bigger.append(s, TensorView::contiguous(kc.keys(s).data, dtype_, {n, G, D}),
                      TensorView::contiguous(kc.values(s).data, dtype_, {n, G, D}));
    kc = std::move(bigger);
  }
  capacity = grown;
}

}  // namespace attend::nn
