// The activations: the active path's bodies over chunks of the array on attend's pool.
#include "kernels/activation.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

constexpr I64 kChunk = 16384;  // elements per task: 64 KiB of each array, above a pool hand-off's cost

const ActivationFns& active() { return *active_kernels().activation; }

// fn(offset, count) over [0, n) in chunks, in parallel when there is more than one chunk.
template <class Fn>
void chunks(I64 n, Fn&& fn) {
  core::parallel_ranges(n, kChunk, [&](I64 b, I64 e) { fn(b, e - b); });
}

}  // namespace

void gelu_forward(float* out, const float* x, I64 n) {
  const ActivationFns& f = active();
  chunks(n, [&](I64 o, I64 c) { f.gelu_forward(out + o, x + o, c); });
}

void gelu_backward(float* dx, const float* x, const float* dout, I64 n) {
  const ActivationFns& f = active();
  chunks(n, [&](I64 o, I64 c) { f.gelu_backward(dx + o, x + o, dout + o, c); });
}

void swiglu_forward(float* out, const float* g, const float* u, I64 n) {
  const ActivationFns& f = active();
  chunks(n, [&](I64 o, I64 c) { f.swiglu_forward(out + o, g + o, u + o, c); });
}

void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u, I64 n) {
  const ActivationFns& f = active();
  chunks(n, [&](I64 o, I64 c) { f.swiglu_backward(dg + o, du + o, dout + o, g + o, u + o, c); });
}

}  // namespace attend::kernels
