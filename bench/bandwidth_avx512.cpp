// Read loop with 4 independent accumulators (so the adds never limit a memory-bound stream).
#include <immintrin.h>

#include "bench/bandwidth.h"

namespace attend::bench {

float read_stream_avx512(const float* p, std::size_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(p + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(p + i + 16));
    c = _mm512_add_ps(c, _mm512_loadu_ps(p + i + 32));
    d = _mm512_add_ps(d, _mm512_loadu_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
}

}  // namespace attend::bench
