// attend's quantizers produce ggml's bytes. The hashes below are FNV-1a 64 of the output of ggml's
// quantize_row_{q8_0,q4_0,q4_K,q6_K}_ref (ggml-org/ggml d99724f, built here by hand outside the
// repository, without FMA) on the deterministic input below; attend's code must reproduce them.
// The input uses only exact float operations (xorshift, sums of uniforms, powers of two), so it is
// the same on every machine.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "attend/quant.h"

namespace attend {
namespace {

struct Gen {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  float uni() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

// Blocks of 32: sums of 12 uniforms (≈ Gaussian) scaled by 2^-12..2^8, some all zero, all positive
// or sparse.
std::vector<float> input(std::uint64_t seed, std::int64_t n) {
  Gen g{seed};
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < n / 32; ++b) {
    const float mag = std::ldexp(1.0f, static_cast<int>(g.next() % 21) - 12);
    const int kind = static_cast<int>(g.next() % 8);
    for (int j = 0; j < 32; ++j) {
      float v = 0;
      for (int k = 0; k < 12; ++k) v += g.uni();
      v = (v - 6) * mag;
      if (kind == 0) v = 0;
      if (kind == 1) v = std::fabs(v) + mag;
      if (kind == 2 && j % 5) v = 0;
      x[static_cast<std::size_t>(32 * b + j)] = v;
    }
  }
  return x;
}

std::uint64_t fnv1a(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

TEST(QuantGgml, QuantizersReproduceGgmlReferenceBytes) {
  struct Golden { std::uint64_t seed, q8_0, q4_0, q4_K, q6_K; };
  const Golden golden[] = {
      {1, 0x4835673beebd6a6full, 0xf5e4730a285d308eull, 0x2e03aec93a29924bull, 0x35f80432165b5c5full},
      {2, 0x49b913f377c1295aull, 0x9c7e7d9fc9c67010ull, 0x505d7c5407a68637ull, 0xf9b7df2906f0647bull},
      {3, 0xefd1cc1fabc15dd5ull, 0x69c55881c9e76ceeull, 0x6dd35e414211f889ull, 0x99e1f74e0b6379e2ull},
  };
  const std::int64_t n = 256 * 64;
  for (const Golden& g : golden) {
    const std::vector<float> x = input(g.seed, n);
    auto hash = [&](GgmlType t) {
      std::vector<std::uint8_t> out(row_bytes(t, n));
      quantize_row(t, x.data(), out.data(), n);
      return fnv1a(out);
    };
    EXPECT_EQ(hash(GgmlType::q8_0), g.q8_0) << "seed " << g.seed;
    EXPECT_EQ(hash(GgmlType::q4_0), g.q4_0) << "seed " << g.seed;
    EXPECT_EQ(hash(GgmlType::q4_K), g.q4_K) << "seed " << g.seed;
    EXPECT_EQ(hash(GgmlType::q6_K), g.q6_K) << "seed " << g.seed;
  }
}

}  // namespace
}  // namespace attend
