// Ablation and activation patching through the forward's hooks (attend/lab.h, attend/trace.h).
#include <algorithm>
#include <cmath>

#include "attend/lab.h"
#include "core/check.h"

namespace attend::lab {

using I64 = std::int64_t;

namespace {
std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }

// Floats per token at a hook point.
I64 per_token(const HookSite& s) {
  switch (s.point) {
    case HookPoint::q:
    case HookPoint::head_out: return s.heads * s.head_dim;
    case HookPoint::k:
    case HookPoint::v: return s.kv_heads * s.head_dim;
    default: return s.d_model;
  }
}

// The recorded activation of `rec` at (point, layer).
const std::vector<float>& recorded(const observe::Recording& rec, HookPoint point, int layer) {
  const observe::LayerRecord& lr = rec.layer(layer);
  switch (point) {
    case HookPoint::resid_pre: return lr.resid_pre;
    case HookPoint::q: return lr.q;
    case HookPoint::k: return lr.k;
    case HookPoint::v: return lr.v;
    case HookPoint::head_out: return lr.head_out;
    case HookPoint::attn_out: return lr.attn_out;
    case HookPoint::resid_mid: return lr.resid_mid;
    case HookPoint::mlp_out: return lr.mlp_out;
    case HookPoint::resid_post: return lr.resid_post;
  }
  return lr.resid_pre;
}

}  // namespace

Ablation parse_ablation(const std::string& name) {
  if (name == "zero") return Ablation::zero;
  if (name == "mean") return Ablation::mean;
  if (name == "resample") return Ablation::resample;
  detail::fail("parse_ablation", "unknown ablation '", name, "' (zero, mean, resample)");
}

const char* ablation_name(Ablation a) {
  switch (a) {
    case Ablation::zero: return "zero";
    case Ablation::mean: return "mean";
    case Ablation::resample: return "resample";
  }
  return "?";
}

// ---- AblationHooks ---------------------------------------------------------------------------------
AblationHooks::AblationHooks(const nn::Model& model, AblationSpec spec) : spec_(std::move(spec)) {
  const nn::ModelConfig& c = model.config();
  d_model_ = c.d_model;
  heads_ = c.heads;
  head_dim_ = c.d_model / c.heads;
  for (const HeadRef& h : spec_.heads)
    if (h.layer < 0 || h.layer >= c.layers || h.head < 0 || h.head >= c.heads)
      detail::fail("AblationHooks", "head ", head_name(h), " is outside the model's ", c.layers, " layers × ", c.heads, " heads");
  for (int l : spec_.mlps)
    if (l < 0 || l >= c.layers) detail::fail("AblationHooks", "MLP of layer ", l, " is outside [0, ", c.layers, ")");
  z_.assign(sz(c.layers), {});
  mlp_.assign(sz(c.layers), {});
  if (spec_.kind == Ablation::zero) return;
  if (spec_.reference.empty()) detail::fail("AblationHooks", ablation_name(spec_.kind), " ablation needs reference sequences");
  const I64 hd = heads_ * head_dim_;
  observe::Selection sel;
  sel.full_matrices = false;
  sel.thumbnail = 0;
  if (spec_.kind == Ablation::resample) {
    const Run r = run(model, spec_.reference.front(), sel);
    rows_ = r.rec.n;
    for (int l = 0; l < c.layers; ++l) {
      z_[sz(l)] = r.rec.layers[sz(l)].head_out;
      mlp_[sz(l)] = r.rec.layers[sz(l)].mlp_out;
    }
    return;
  }
  rows_ = 1;  // mean over every reference sequence and position
  I64 count = 0;
  for (int l = 0; l < c.layers; ++l) {
    z_[sz(l)].assign(sz(hd), 0.0f);
    mlp_[sz(l)].assign(sz(d_model_), 0.0f);
  }
  std::vector<std::vector<double>> zs(sz(c.layers), std::vector<double>(sz(hd), 0.0)), ms(sz(c.layers), std::vector<double>(sz(d_model_), 0.0));
  for (const auto& seq : spec_.reference) {
    const Run r = run(model, seq, sel);
    for (int l = 0; l < c.layers; ++l) {
      const auto& lr = r.rec.layers[sz(l)];
      for (I64 i = 0; i < r.rec.n; ++i) {
        for (I64 x = 0; x < hd; ++x) zs[sz(l)][sz(x)] += lr.head_out[sz(i * hd + x)];
        for (I64 x = 0; x < d_model_; ++x) ms[sz(l)][sz(x)] += lr.mlp_out[sz(i * d_model_ + x)];
      }
    }
    count += r.rec.n;
  }
  for (int l = 0; l < c.layers; ++l) {
    for (I64 x = 0; x < hd; ++x) z_[sz(l)][sz(x)] = static_cast<float>(zs[sz(l)][sz(x)] / static_cast<double>(count));
    for (I64 x = 0; x < d_model_; ++x) mlp_[sz(l)][sz(x)] = static_cast<float>(ms[sz(l)][sz(x)] / static_cast<double>(count));
  }
}

bool AblationHooks::wants(HookPoint point, int layer) const {
  if (point == HookPoint::head_out)
    return std::any_of(spec_.heads.begin(), spec_.heads.end(), [&](const HeadRef& h) { return h.layer == layer; });
  if (point == HookPoint::mlp_out) return std::find(spec_.mlps.begin(), spec_.mlps.end(), layer) != spec_.mlps.end();
  return false;
}

void AblationHooks::on_activation(const HookSite& site, Span<float> x) {
  const I64 n = site.tokens;
  if (spec_.kind == Ablation::resample && n > rows_)
    detail::fail("AblationHooks", "the resample sequence has ", rows_, " tokens; the input has ", n);
  auto source = [&](const std::vector<float>& src, I64 i, I64 width) { return src.data() + (spec_.kind == Ablation::mean ? 0 : i * width); };
  if (site.point == HookPoint::head_out) {
    const I64 hd = site.heads * site.head_dim, d = site.head_dim;
    for (const HeadRef& h : spec_.heads) {
      if (h.layer != site.layer) continue;
      for (I64 i = 0; i < n; ++i) {
        float* dst = x.data() + i * hd + h.head * d;
        if (spec_.kind == Ablation::zero) std::fill(dst, dst + d, 0.0f);
        else std::copy_n(source(z_[sz(site.layer)], i, hd) + h.head * d, d, dst);
      }
    }
  } else if (site.point == HookPoint::mlp_out) {
    const I64 e = site.d_model;
    for (I64 i = 0; i < n; ++i) {
      float* dst = x.data() + i * e;
      if (spec_.kind == Ablation::zero) std::fill(dst, dst + e, 0.0f);
      else std::copy_n(source(mlp_[sz(site.layer)], i, e), e, dst);
    }
  }
}

// ---- PatchHooks ---------------------------------------------------------------------------------------
PatchHooks::PatchHooks(const observe::Recording& source, std::vector<Patch> patches, std::vector<HeadRef> pattern_heads)
    : src_(source), patches_(std::move(patches)), pattern_heads_(std::move(pattern_heads)) {
  for (const Patch& p : patches_) {
    if (p.layer < 0 || p.layer >= static_cast<int>(src_.layers.size()))
      detail::fail("PatchHooks", "layer ", p.layer, " is outside the source's ", src_.layers.size(), " layers");
    if (recorded(src_, p.point, p.layer).empty())
      detail::fail("PatchHooks", "the source has no ", hook_point_name(p.point), " activations for layer ", p.layer);
    if (p.position >= src_.n) detail::fail("PatchHooks", "position ", p.position, " is outside the source's ", src_.n, " tokens");
  }
  for (const HeadRef& h : pattern_heads_)
    if (h.layer < 0 || h.layer >= static_cast<int>(src_.layers.size()) || h.head < 0 || h.head >= src_.heads)
      detail::fail("PatchHooks", "pattern head ", head_name(h), " is outside the source");
}

bool PatchHooks::wants(HookPoint point, int layer) const {
  return std::any_of(patches_.begin(), patches_.end(), [&](const Patch& p) { return p.point == point && p.layer == layer; });
}

void PatchHooks::on_activation(const HookSite& site, Span<float> x) {
  const I64 width = per_token(site), n = site.tokens;
  if (n != src_.n) detail::fail("PatchHooks", "the run has ", n, " tokens; the source has ", src_.n);
  const std::vector<float>& src = recorded(src_, site.point, site.layer);
  const bool per_head = site.point == HookPoint::q || site.point == HookPoint::k || site.point == HookPoint::v || site.point == HookPoint::head_out;
  for (const Patch& p : patches_) {
    if (p.point != site.point || p.layer != site.layer) continue;
    const I64 lo = p.position < 0 ? 0 : p.position, hi = p.position < 0 ? n : p.position + 1;
    const I64 c0 = per_head && p.head >= 0 ? p.head * site.head_dim : 0;
    const I64 c1 = per_head && p.head >= 0 ? c0 + site.head_dim : width;
    for (I64 i = lo; i < hi; ++i) std::copy(src.begin() + i * width + c0, src.begin() + i * width + c1, x.begin() + i * width + c0);
  }
}

bool PatchHooks::wants_pattern(int layer, int head) const {
  return std::find(pattern_heads_.begin(), pattern_heads_.end(), HeadRef{layer, head}) != pattern_heads_.end();
}

void PatchHooks::on_patterns(int layer, Span<const int> heads, Span<float> patterns, I64 tokens) {
  if (tokens != src_.n) detail::fail("PatchHooks", "the run has ", tokens, " tokens; the source has ", src_.n);
  for (std::size_t a = 0; a < heads.size(); ++a) {
    const std::vector<float> p = head_pattern(src_, layer, heads[a]);
    std::copy(p.begin(), p.end(), patterns.begin() + static_cast<std::ptrdiff_t>(a * p.size()));
  }
}

std::vector<float> head_pattern(const observe::Recording& rec, int layer, int head) {
  const I64 n = rec.n;
  const auto exact = rec.exact_weights(layer, head);
  if (!exact.empty()) return {exact.begin(), exact.end()};
  const observe::LayerRecord& lr = rec.layer(layer);
  const I64 h = rec.heads, g = rec.kv_heads, d = rec.head_dim;
  if (head < 0 || head >= h || static_cast<I64>(lr.q.size()) != n * h * d || static_cast<I64>(lr.k.size()) != n * g * d)
    detail::fail("head_pattern", "layer ", layer, " head ", head, " has neither exact weights nor q and k in the recording");
  const I64 kv = head / (h / g);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<float> out(sz(n * n), 0.0f);
  std::vector<double> s(sz(n));
  for (I64 i = 0; i < n; ++i) {
    double m = -INFINITY;
    for (I64 j = 0; j <= i; ++j) {
      double dot = 0;
      for (I64 c = 0; c < d; ++c) dot += static_cast<double>(lr.q[sz((i * h + head) * d + c)]) * lr.k[sz((j * g + kv) * d + c)];
      s[sz(j)] = scale * dot;
      m = std::max(m, s[sz(j)]);
    }
    double l = 0;
    for (I64 j = 0; j <= i; ++j) l += std::exp(s[sz(j)] - m);
    for (I64 j = 0; j <= i; ++j) out[sz(i * n + j)] = static_cast<float>(std::exp(s[sz(j)] - m) / l);
  }
  return out;
}

}  // namespace attend::lab
