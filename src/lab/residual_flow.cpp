// The residual stream as a flow: displacements split into attention and MLP parts, W₂ between
// consecutive clouds, clusters on the sphere, the last token against the prediction's unembedding.
#include "attend/residual_flow.h"

#include <algorithm>
#include <cmath>

#include "attend/graph.h"
#include "attend/trace.h"
#include "attend/transport.h"
#include "core/check.h"
#include "nn/model_impl.h"
#include "nn/weight.h"

namespace attend::lab {
namespace {

using I64 = std::int64_t;

double norm_of_difference(const float* a, const float* b, I64 e) {
  double s = 0;
  for (I64 k = 0; k < e; ++k) {
    const double d = static_cast<double>(a[k]) - static_cast<double>(b[k]);
    s += d * d;
  }
  return std::sqrt(s);
}

double dot(const float* a, Span<const float> u) {
  double s = 0;
  for (std::size_t k = 0; k < u.size(); ++k) s += static_cast<double>(a[k]) * u[k];
  return s;
}

double norm(Span<const float> u) {
  double s = 0;
  for (float x : u) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

// (a − b) · u
double difference_along(const float* a, const float* b, Span<const float> u) {
  double s = 0;
  for (std::size_t k = 0; k < u.size(); ++k) s += (static_cast<double>(a[k]) - static_cast<double>(b[k])) * u[k];
  return s;
}

// x: [N, E] -> clusters of the states centred and scaled to unit length.
int sphere_clusters(const std::vector<float>& x, I64 n, I64 e, double cos_min) {
  std::vector<float> s(x.size());
  for (I64 i = 0; i < n; ++i) {
    const float* r = x.data() + i * e;
    double mean = 0;
    for (I64 k = 0; k < e; ++k) mean += r[k];
    mean /= static_cast<double>(e);
    double ss = 0;
    for (I64 k = 0; k < e; ++k) ss += (r[k] - mean) * (r[k] - mean);
    const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    for (I64 k = 0; k < e; ++k) s[static_cast<std::size_t>(i * e + k)] = static_cast<float>((r[k] - mean) * inv);
  }
  const std::vector<int> label = graph::cluster_labels(s, static_cast<int>(n), static_cast<int>(e), cos_min);
  return label.empty() ? 0 : 1 + *std::max_element(label.begin(), label.end());
}

// Keeps a copy of every block's three residual states.
class ResidualRecorder final : public ModelTraceSink {
 public:
  std::vector<std::vector<float>> pre, mid, post;
  I64 n = 0, e = 0;
  void on_layer(const LayerTrace& t) override {
    n = t.tokens, e = t.d_model;
    const auto size = static_cast<std::size_t>(t.tokens * t.d_model);
    pre.emplace_back(t.resid_pre, t.resid_pre + size);
    mid.emplace_back(t.resid_mid, t.resid_mid + size);
    post.emplace_back(t.resid_post, t.resid_post + size);
  }
};

}  // namespace

// pre, mid, post: [L][N·E]; unembedding: [E]
ResidualFlow residual_flow_from_states(const std::vector<std::vector<float>>& pre, const std::vector<std::vector<float>>& mid,
                                       const std::vector<std::vector<float>>& post, Span<const float> unembedding,
                                       I64 n, I64 e, const ResidualFlowOptions& options) {
  const char* where = "lab::residual_flow";
  const std::size_t layers = pre.size();
  if (n < 1 || e < 1) detail::fail(where, "need N, E >= 1, got N = ", n, ", E = ", e);
  if (layers == 0 || mid.size() != layers || post.size() != layers)
    detail::fail(where, "pre, mid and post hold ", pre.size(), ", ", mid.size(), " and ", post.size(), " layers (need the same, >= 1)");
  const auto size = static_cast<std::size_t>(n * e);
  for (std::size_t l = 0; l < layers; ++l)
    if (pre[l].size() != size || mid[l].size() != size || post[l].size() != size)
      detail::fail(where, "layer ", l, ": states are not [N, E] = [", n, ", ", e, "]");
  if (unembedding.size() != static_cast<std::size_t>(e))
    detail::fail(where, "unembedding holds ", unembedding.size(), " values, expected E = ", e);
  if (!(options.cluster_cos >= -1 && options.cluster_cos <= 1))
    detail::fail(where, "cluster_cos must lie in [-1, 1], got ", options.cluster_cos);
  if (options.transport && n > graph::kMaxExactTransport)
    detail::fail(where, n, " tokens: exact transport is limited to ", graph::kMaxExactTransport, " (set transport = false)");
  const double u_norm = norm(unembedding);
  const double inv_u = u_norm > 0 ? 1.0 / u_norm : 0.0;
  auto cos_with_u = [&](const float* x) {
    const double xn = norm(Span<const float>(x, static_cast<std::size_t>(e)));
    return xn > 0 && u_norm > 0 ? dot(x, unembedding) / (xn * u_norm) : 0.0;
  };
  ResidualFlow out;
  out.clusters_embedded = sphere_clusters(pre[0], n, e, options.cluster_cos);
  const I64 last = (n - 1) * e;
  out.embedded_last_cos = cos_with_u(pre[0].data() + last);
  for (std::size_t l = 0; l < layers; ++l) {
    ResidualLayerFlow f;
    f.layer = static_cast<int>(l);
    const float *x0 = pre[l].data(), *x1 = mid[l].data(), *x2 = post[l].data();
    for (I64 i = 0; i < n; ++i) {
      const I64 o = i * e;
      f.update.push_back(norm_of_difference(x2 + o, x0 + o, e));
      f.attention.push_back(norm_of_difference(x1 + o, x0 + o, e));
      f.mlp.push_back(norm_of_difference(x2 + o, x1 + o, e));
    }
    double su = 0, sa = 0, sm = 0;
    for (I64 i = 0; i < n; ++i) su += f.update[static_cast<std::size_t>(i)], sa += f.attention[static_cast<std::size_t>(i)], sm += f.mlp[static_cast<std::size_t>(i)];
    f.mean_update = su / static_cast<double>(n), f.mean_attention = sa / static_cast<double>(n), f.mean_mlp = sm / static_cast<double>(n);
    if (options.transport) f.w2 = graph::wasserstein2(pre[l], post[l], static_cast<int>(n), static_cast<int>(e));
    f.clusters = sphere_clusters(post[l], n, e, options.cluster_cos);
    f.last_cos = cos_with_u(x2 + last);
    f.last_attention_along = difference_along(x1 + last, x0 + last, unembedding) * inv_u;
    f.last_mlp_along = difference_along(x2 + last, x1 + last, unembedding) * inv_u;
    out.layers.push_back(std::move(f));
  }
  return out;
}

ResidualFlow residual_flow(const nn::Model& model, Span<const std::int32_t> tokens, const ResidualFlowOptions& options) {
  const nn::Model::Impl& impl = model.impl();
  if (tokens.empty()) detail::fail("lab::residual_flow", "no tokens");
  ResidualRecorder rec;
  const Tensor logits = model.forward(tokens, &rec);
  const I64 V = impl.config.vocab, n = static_cast<I64>(tokens.size());
  const float* row = logits.data_as<float>() + (n - 1) * V;
  const auto predicted = static_cast<std::int32_t>(std::max_element(row, row + V) - row);
  std::vector<float> u(static_cast<std::size_t>(impl.config.d_model));
  nn::weight_row(impl.w(impl.lm_head >= 0 ? impl.lm_head : impl.wte), predicted, u.data());
  ResidualFlow out = residual_flow_from_states(rec.pre, rec.mid, rec.post, u, rec.n, rec.e, options);
  out.tokens.assign(tokens.begin(), tokens.end());
  out.predicted = predicted;
  return out;
}

std::optional<observe::FlowPanel> flow_panel(const observe::Recording& rec, const observe::Unembedding& u, int predicted,
                                             double cluster_cos) {
  const I64 n = rec.n, e = u.d_model;
  if (rec.layers.empty() || predicted < 0 || predicted >= u.vocab) return std::nullopt;
  std::vector<std::vector<float>> pre, mid, post;
  for (const observe::LayerRecord& l : rec.layers) {
    if (static_cast<I64>(l.resid_pre.size()) != n * e || static_cast<I64>(l.resid_mid.size()) != n * e ||
        static_cast<I64>(l.resid_post.size()) != n * e)
      return std::nullopt;
    pre.push_back(l.resid_pre), mid.push_back(l.resid_mid), post.push_back(l.resid_post);
  }
  ResidualFlowOptions o;
  o.cluster_cos = cluster_cos;
  o.transport = n <= kMaxPanelTransport;
  const ResidualFlow f = residual_flow_from_states(pre, mid, post, u.w_u.subspan(static_cast<std::size_t>(predicted * e), static_cast<std::size_t>(e)),
                                                   n, e, o);
  observe::FlowPanel p;
  p.predicted = predicted;
  p.clusters_embedded = f.clusters_embedded;
  p.embedded_last_cos = f.embedded_last_cos;
  p.cluster_cos = cluster_cos;
  for (const ResidualLayerFlow& l : f.layers) {
    p.mean_update.push_back(l.mean_update), p.mean_attention.push_back(l.mean_attention), p.mean_mlp.push_back(l.mean_mlp);
    p.w2.push_back(l.w2), p.clusters.push_back(l.clusters), p.last_cos.push_back(l.last_cos);
    p.last_attention_along.push_back(l.last_attention_along), p.last_mlp_along.push_back(l.last_mlp_along);
    p.update.push_back(l.update);
  }
  return p;
}

}  // namespace attend::lab
