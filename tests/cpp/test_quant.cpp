// Block formats (attend/quant.h): the type table, and dequantization of blocks built by hand from
// the format definitions (byte offsets and bit positions written out here, independently of
// src/core), for f16, bf16, q8_0, q4_0, q4_K and q6_K.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/quant.h"

namespace attend {
namespace {

std::vector<float> deq(GgmlType t, const std::vector<std::uint8_t>& bytes, std::int64_t n) {
  EXPECT_EQ(bytes.size(), row_bytes(t, n));
  std::vector<float> out(static_cast<std::size_t>(n));
  dequantize_row(t, bytes.data(), out.data(), n);
  return out;
}

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v & 0xff);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}

std::string error_of(auto fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(QuantTypes, TableHasGgmlNumbersAndSizes) {
  struct Row { std::uint32_t id; const char* name; std::int64_t block; std::size_t bytes; };
  // From ggml.h (numbers) and ggml-common.h (block structs).
  const Row rows[] = {{0, "f32", 1, 4},     {1, "f16", 1, 2},      {2, "q4_0", 32, 18},  {8, "q8_0", 32, 34},
                      {12, "q4_K", 256, 144}, {14, "q6_K", 256, 210}, {30, "bf16", 1, 2}, {13, "q5_K", 256, 176},
                      {10, "q2_K", 256, 84},  {23, "iq4_xs", 256, 136}, {39, "mxfp4", 32, 17}};
  for (const Row& r : rows) {
    const GgmlTypeInfo* t = ggml_type_info(r.id);
    ASSERT_NE(t, nullptr) << r.name;
    EXPECT_EQ(t->name, r.name);
    EXPECT_EQ(t->block_size, r.block);
    EXPECT_EQ(t->block_bytes, r.bytes) << r.name;
  }
  for (std::uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 43u, 1000u, 0xffffffffu})
    EXPECT_EQ(ggml_type_info(removed), nullptr) << removed;
  EXPECT_NE(error_of([] { (void)ggml_type_name(static_cast<GgmlType>(4)); }).find("unknown ggml type 4"), std::string::npos);
}

TEST(QuantTypes, RowBytesValidatesTheCount) {
  EXPECT_EQ(row_bytes(GgmlType::q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(GgmlType::q8_0, 64), 68u);
  EXPECT_EQ(row_bytes(GgmlType::f16, 3), 6u);
  EXPECT_EQ(row_bytes(GgmlType::q6_K, 0), 0u);
  EXPECT_NE(error_of([] { (void)row_bytes(GgmlType::q4_K, 100); }).find("multiple of 256 elements, not 100"), std::string::npos);
  EXPECT_NE(error_of([] { (void)row_bytes(GgmlType::q4_0, -32); }).find("negative"), std::string::npos);
  EXPECT_NE(error_of([] { (void)row_bytes(GgmlType::f32, std::int64_t{1} << 62); }).find("overflows"), std::string::npos);
  EXPECT_NE(error_of([] { std::vector<float> x(256); std::vector<std::uint8_t> y(176);
                          quantize_row(GgmlType::q5_K, x.data(), y.data(), 256); }).find("q5_K (13) has no reference conversion"),
            std::string::npos);
}

TEST(QuantBlocks, F16AndBf16KnownValues) {
  const std::vector<std::uint8_t> h = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00};  // 1, -2, 65504, 2^-24
  const auto f = deq(GgmlType::f16, h, 4);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], 65504.0f);
  EXPECT_EQ(f[3], std::ldexp(1.0f, -24));
  const std::vector<std::uint8_t> b = {0x80, 0x3f, 0x40, 0xc0};  // 1, -3
  const auto g = deq(GgmlType::bf16, b, 2);
  EXPECT_EQ(g[0], 1.0f);
  EXPECT_EQ(g[1], -3.0f);
}

// q8_0: bytes 0-1 f16 d, bytes 2..33 int8 q; x = d·q.
TEST(QuantBlocks, Q8_0HandBuilt) {
  std::vector<std::uint8_t> b(68);
  put16(b, 0, 0x3400);   // 0.25
  put16(b, 34, 0xba00);  // -0.75
  for (int j = 0; j < 32; ++j) {
    b[2 + static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(4 * j - 128));
    b[36 + static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(127 - j));
  }
  const auto f = deq(GgmlType::q8_0, b, 64);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(f[static_cast<std::size_t>(j)], 0.25f * static_cast<float>(4 * j - 128));
    EXPECT_EQ(f[static_cast<std::size_t>(32 + j)], -0.75f * static_cast<float>(127 - j));
  }
}

// q4_0: bytes 0-1 f16 d, bytes 2..17 hold element j in the low nibble of byte j and element
// j+16 in the high nibble; x = d·(q − 8).
TEST(QuantBlocks, Q4_0HandBuilt) {
  std::vector<std::uint8_t> b(18);
  put16(b, 0, 0x3800);  // 0.5
  for (int j = 0; j < 16; ++j) b[2 + static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  const auto f = deq(GgmlType::q4_0, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(f[static_cast<std::size_t>(j)], 0.5f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(f[static_cast<std::size_t>(j + 16)], 0.5f * static_cast<float>(7 - j)) << j;
  }
}

// q4_K (144 bytes): d @0, dmin @2, scales[12] @4, qs[128] @16. Eight sub-blocks of 32 with a
// 6-bit scale sc and min m: x = d·sc·q − dmin·m. Scale packing: for j < 4 the low 6 bits of
// scales[j] and scales[j+4] are sc_j and m_j; for j ≥ 4 scales[j+4] holds the low nibbles of sc_j
// (bits 0-3) and m_j (bits 4-7), and their top two bits sit in bits 6-7 of scales[j−4] and scales[j].
// Sub-blocks 2i and 2i+1 take the low and high nibbles of qs[32i..32i+31].
TEST(QuantBlocks, Q4_KHandBuilt) {
  const int sc[8] = {1, 5, 17, 31, 32, 47, 63, 16};
  const int m[8] = {0, 63, 2, 33, 48, 7, 15, 60};
  std::vector<std::uint8_t> b(144, 0);
  put16(b, 0, 0x3c00);  // d = 1
  put16(b, 2, 0x3800);  // dmin = 0.5
  std::uint8_t* s = b.data() + 4;
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<std::uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<std::uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
  auto q = [](int sub, int l) { return (l * 7 + sub * 3) % 16; };
  for (int i = 0; i < 4; ++i)
    for (int l = 0; l < 32; ++l)
      b[16 + static_cast<std::size_t>(32 * i + l)] = static_cast<std::uint8_t>(q(2 * i, l) | (q(2 * i + 1, l) << 4));
  const auto f = deq(GgmlType::q4_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32;
    EXPECT_EQ(f[static_cast<std::size_t>(e)], static_cast<float>(sc[j] * q(j, l)) - 0.5f * static_cast<float>(m[j])) << e;
  }
}

// q6_K (210 bytes): ql[128] @0, qh[64] @128, int8 scales[16] @192, d @208. x[e] = d·scales[e/16]·(q−32).
// Element e = 128h + 32k + l (k < 4, l < 32): its low 4 bits are nibble k/2 of ql[64h + 32(k%2) + l],
// its high 2 bits are bits 2k, 2k+1 of qh[32h + l].
TEST(QuantBlocks, Q6_KHandBuilt) {
  const int scales[16] = {-128, -100, -64, -33, -8, -1, 0, 1, 7, 16, 31, 50, 64, 90, 120, 127};
  std::vector<std::uint8_t> b(210, 0);
  put16(b, 208, 0x3000);  // 0.125
  for (int s = 0; s < 16; ++s) b[192 + static_cast<std::size_t>(s)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(scales[s]));
  auto q = [](int e) { return (e * 11 + 5) % 64; };
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const std::size_t lo = static_cast<std::size_t>(64 * h + 32 * (k % 2) + l);
    b[lo] = static_cast<std::uint8_t>(b[lo] | ((q(e) & 15) << (4 * (k / 2))));
    const std::size_t hi = 128 + static_cast<std::size_t>(32 * h + l);
    b[hi] = static_cast<std::uint8_t>(b[hi] | ((q(e) >> 4) << (2 * k)));
  }
  const auto f = deq(GgmlType::q6_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    EXPECT_EQ(f[static_cast<std::size_t>(e)], 0.125f * static_cast<float>(scales[e / 16]) * static_cast<float>(q(e) - 32)) << e;
  }
}

}  // namespace
}  // namespace attend
