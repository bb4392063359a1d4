#include "kernels/problem.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/thread_pool.h"
#include "core/view_checks.h"

namespace attend::kernels {

using detail::fail;

namespace {

void check_ragged(const char* fn, Span<const std::int32_t> cu, const char* name,
                  std::int64_t total) {
  if (cu.size() < 2) fail(fn, name, " needs at least 2 offsets (B + 1), got ", cu.size());
  if (cu[0] != 0) fail(fn, name, "[0] must be 0, got ", cu[0]);
  for (std::size_t i = 1; i < cu.size(); ++i)
    if (cu[i] < cu[i - 1]) fail(fn, name, " must be non-decreasing, but [", i, "] = ", cu[i], " < ", cu[i - 1]);
  if (cu.back() != total) fail(fn, name, " ends at ", cu.back(), " but the tensor has ", total, " rows");
}

}  // namespace

LogitOptions logit_options(const AttentionOptions& o) {
  return {o.scale, o.causal, o.window_left, o.window_right, o.position_offset, o.softcap, o.alibi_slopes};
}

Problem make_problem(const char* fn, const TensorView& q, const TensorView& k, const TensorView& v,
                     const TensorView& out, const AttentionOptions& opts, const TensorView& lse) {
  core::check_view(fn, "q", q, 4);
  core::check_view(fn, "k", k, 4);
  core::check_view(fn, "v", v, 4);
  core::check_view(fn, "out", out, 4);
  Problem p;
  p.q = q; p.k = k; p.v = v; p.out = out; p.lse = lse;
  const std::int64_t B = q.dim(0), nq = q.dim(1);
  p.hq = q.dim(2); p.d = q.dim(3);
  p.hkv = k.dim(2); p.dv = v.dim(3);
  if (k.dim(0) != B) fail(fn, "k has batch ", k.dim(0), " but q has batch ", B);
  if (v.dim(0) != B || v.dim(1) != k.dim(1) || v.dim(2) != p.hkv)
    fail(fn, "v has shape ", v.shape_string(), ", which does not match k ", k.shape_string(), " in [B, Nk, Hkv]");
  if (k.dim(3) != p.d) fail(fn, "k has head size ", k.dim(3), " but q has ", p.d);
  if (p.hq <= 0 || p.hkv <= 0) fail(fn, "head counts must be positive, got q ", p.hq, ", k ", p.hkv);
  if (p.hq % p.hkv != 0) fail(fn, "k has ", p.hkv, " heads, which does not divide q's ", p.hq, " heads");
  static_cast<LogitSpec&>(p) = make_logit_spec(fn, logit_options(opts), p.d, p.dv, p.hq);
  p.group = p.hq / p.hkv;
  if (out.dim(0) != B || out.dim(1) != nq || out.dim(2) != p.hq || out.dim(3) != p.dv)
    fail(fn, "out has shape ", out.shape_string(), ", expected [", B, ", ", nq, ", ", p.hq, ", ", p.dv, "]");
  core::check_no_overlap(fn, "out", out, {{"q", &q}, {"k", &k}, {"v", &v}});
  core::check_writable(fn, "out", out);

  // Sequences: packed (cu_seqlens), padded (seqlens_k) or dense.
  const bool has_cu_q = !opts.cu_seqlens_q.empty(), has_cu_k = !opts.cu_seqlens_k.empty();
  if (has_cu_q != has_cu_k) fail(fn, "cu_seqlens_q and cu_seqlens_k must be given together");
  if (has_cu_q && !opts.seqlens_k.empty()) fail(fn, "give either cu_seqlens (packed) or seqlens_k (padded), not both");
  if (has_cu_q) {
    if (B != 1) fail(fn, "packed ragged batches need q with batch 1 ([1, total, H, D]), got batch ", B);
    check_ragged(fn, opts.cu_seqlens_q, "cu_seqlens_q", nq);
    check_ragged(fn, opts.cu_seqlens_k, "cu_seqlens_k", k.dim(1));
    if (opts.cu_seqlens_q.size() != opts.cu_seqlens_k.size())
      fail(fn, "cu_seqlens_q has ", opts.cu_seqlens_q.size(), " entries but cu_seqlens_k has ", opts.cu_seqlens_k.size());
    p.packed = true;
    for (std::size_t s = 0; s + 1 < opts.cu_seqlens_q.size(); ++s)
      p.seqs.push_back({0, opts.cu_seqlens_q[s], opts.cu_seqlens_q[s + 1] - opts.cu_seqlens_q[s],
                        opts.cu_seqlens_k[s], opts.cu_seqlens_k[s + 1] - opts.cu_seqlens_k[s]});
  } else {
    if (!opts.seqlens_k.empty() && static_cast<std::int64_t>(opts.seqlens_k.size()) != B)
      fail(fn, "seqlens_k has ", opts.seqlens_k.size(), " entries but the batch is ", B);
    for (std::int64_t b = 0; b < B; ++b) {
      std::int64_t nk = k.dim(1);
      if (!opts.seqlens_k.empty()) {
        nk = opts.seqlens_k[static_cast<std::size_t>(b)];
        if (nk < 0 || nk > k.dim(1)) fail(fn, "seqlens_k[", b, "] = ", nk, " is outside [0, ", k.dim(1), "]");
      }
      p.seqs.push_back({b, 0, nq, 0, nk});
    }
  }

  if (!lse.empty()) {
    core::check_view(fn, "lse", lse, 3);
    if (lse.dtype != DType::f32) fail(fn, "lse must be f32, got ", dtype_name(lse.dtype));
    if (lse.dim(0) != B || lse.dim(1) != p.hq || lse.dim(2) != nq)
      fail(fn, "lse has shape ", lse.shape_string(), ", expected [", B, ", ", p.hq, ", ", nq, "]");
    core::check_no_overlap(fn, "lse", lse, {{"q", &q}, {"k", &k}, {"v", &v}, {"out", &out}});
    core::check_writable(fn, "lse", lse);
  }

  if (!opts.bias.empty()) {
    const std::int64_t max_q = [&] { std::int64_t m = 0; for (auto& s : p.seqs) m = std::max(m, s.nq); return m; }();
    const std::int64_t max_k = [&] { std::int64_t m = 0; for (auto& s : p.seqs) m = std::max(m, s.nk); return m; }();
    const std::int64_t want[4] = {p.packed ? static_cast<std::int64_t>(p.seqs.size()) : B, p.hq,
                                  p.packed ? max_q : nq, p.packed ? max_k : k.dim(1)};
    set_bias(fn, p, opts.bias, want);
  }
  if (!(opts.dropout_p >= 0 && opts.dropout_p < 1)) fail(fn, "dropout_p must be in [0, 1), got ", opts.dropout_p);
  p.dropout_p = opts.dropout_p;
  p.dropout_seed = opts.dropout_seed;
  p.threads = core::resolve_threads(opts.threads);
  p.capture = opts.capture;
  return p;
}

double flops_for(const Problem& p) {
  double pairs = 0;
  for (const auto& s : p.seqs)
    for (std::int64_t i = 0; i < s.nq; ++i) {
      const KeyRange r = p.visible(i, s);
      if (r.hi > r.lo) pairs += static_cast<double>(r.hi - r.lo);
    }
  return 2.0 * pairs * static_cast<double>(p.hq) * static_cast<double>(p.d + p.dv);
}

}  // namespace attend::kernels
