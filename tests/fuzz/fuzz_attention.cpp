// Differential fuzz target: bytes choose a small attention problem (shapes, strides, options,
// possibly invalid); the fast kernel and the double reference must both throw attend::Error or
// both succeed and agree. Catches validation holes and out-of-bounds reads (under ASan).
#include <cmath>
#include <cstdint>
#include <vector>

#include "attend/attend.h"

namespace {

struct Bytes {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t next() { if (n == 0) return 0; --n; return *p++; }
  int in(int lo, int hi) { return lo + next() % (hi - lo + 1); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes b{data, size};
  const int B = b.in(1, 2), nq = b.in(0, 70), nk = b.in(0, 70), hkv = b.in(1, 3), group = b.in(1, 3), d = b.in(1, 40), dv = b.in(1, 24);
  const int hq = b.next() % 8 == 0 ? hkv * group + 1 : hkv * group;  // sometimes not divisible
  const bool bhsd = b.next() & 1;
  const attend::DType dt = static_cast<attend::DType>(b.next() % 3);
  attend::AttentionOptions opts;
  opts.causal = b.next() & 1;
  opts.window_left = b.in(-2, 20);
  opts.window_right = b.in(-2, 20);
  opts.softcap = (b.next() & 3) == 0 ? static_cast<float>(b.in(0, 30)) : 0.0f;
  std::vector<float> slopes;
  if ((b.next() & 3) == 0) slopes.assign(static_cast<std::size_t>(b.in(hq - 1, hq)), 0.25f);
  opts.alibi_slopes = slopes;
  std::vector<std::int32_t> lens;
  if ((b.next() & 3) == 0)
    for (int i = 0; i < B; ++i) lens.push_back(b.in(-1, nk + 1));
  opts.seqlens_k = lens;
  auto make = [&](int n, int h, int w) {
    return bhsd ? attend::Tensor(dt, {B, h, n, w}) : attend::Tensor(dt, {B, n, h, w});
  };
  auto view = [&](const attend::Tensor& t) { return bhsd ? t.view().permuted(0, 2, 1, 3) : t.view(); };
  attend::Tensor q = make(nq, hq, d), k = make(nk, hkv, d), v = make(nk, hkv, dv), o = make(nq, hq, dv), r = make(nq, hq, dv);
  for (attend::Tensor* t : {&q, &k, &v}) {
    std::vector<float> x(static_cast<std::size_t>(t->numel()));
    for (float& e : x) e = (static_cast<float>(b.next()) - 128.0f) / 16.0f;
    attend::convert_from_f32(x.data(), t->data(), t->dtype(), x.size());
  }
  bool fast_ok = true, ref_ok = true;
  try { attend::attention(view(q), view(k), view(v), view(o), opts); } catch (const attend::Error&) { fast_ok = false; }
  try { attend::reference::attention(view(q), view(k), view(v), view(r), opts); } catch (const attend::Error&) { ref_ok = false; }
  if (fast_ok != ref_ok) __builtin_trap();
  if (!fast_ok) return 0;
  std::vector<float> a(static_cast<std::size_t>(o.numel())), c(a.size());
  attend::convert_to_f32(o.data(), dt, a.data(), a.size());
  attend::convert_to_f32(r.data(), dt, c.data(), c.size());
  const float tol = dt == attend::DType::f32 ? 1e-4f : 3e-2f;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - c[i]) <= tol * (1 + std::fabs(c[i])))) __builtin_trap();
  return 0;
}
