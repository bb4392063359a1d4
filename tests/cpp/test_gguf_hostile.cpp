// Hostile GGUF files (assembled field by field in gguf_raw.h): every truncation of a valid file,
// huge counts and lengths, bad dims, overlapping or misplaced tensors, bad alignment, versions,
// magic and types. Each must be refused with an attend::Error that names the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/gguf.h"
#include "gguf_raw.h"

namespace attend {
namespace {

namespace r = gguf_raw;
using gguf::File;

// The message of the error that parsing `bytes` throws ("(accepted)" when it parses).
std::string refusal(const std::string& bytes) {
  try {
    (void)File::from_bytes(bytes, "bad.gguf");
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("gguf 'bad.gguf': ", 0), 0u) << m;
    return m;
  }
  return "(accepted)";
}

#define EXPECT_REFUSED(bytes, needle)                                                         \
  do {                                                                                        \
    const std::string m_ = refusal(bytes);                                                    \
    EXPECT_NE(m_.find(needle), std::string::npos) << "message: " << m_ << "\nwanted: " << needle; \
  } while (0)

std::string one_tensor(std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset, std::string data = std::string(64, '\0')) {
  std::string infos;
  r::tensor_info(infos, "w", dims, type, offset);
  return r::file(3, 1, 0, "", infos, data);
}

TEST(GgufHostile, EveryTruncationIsRefused) {
  gguf::Writer w;
  w.set("general.architecture", "llama");
  w.set("n", std::uint32_t{7});
  w.set("s", std::vector<std::string>{"a", "bb", "ccc"});
  w.set("f", std::vector<float>{1, 2});
  w.set("nested", std::vector<gguf::Array>{gguf::Array(std::vector<std::int16_t>{1, 2})});
  std::vector<float> x(64, 0.25f);
  w.add_tensor_f32("a", {32, 2}, GgmlType::q8_0, x.data());
  w.add_tensor_f32("b", {60}, GgmlType::f32, x.data());  // 240 bytes: padding follows
  const std::string full = w.bytes();
  const File f = File::from_bytes(full, "full");
  const gguf::TensorInfo& last = f.tensor("b");
  const std::uint64_t end = last.file_offset + last.bytes;  // after this only padding follows
  ASSERT_LT(end, full.size());
  int refused = 0;
  for (std::uint64_t n = 0; n < end; ++n) {
    const std::string m = refusal(full.substr(0, n));
    const bool known = m.find("truncated") != std::string::npos || m.find("too short") != std::string::npos ||
                       m.find("but only") != std::string::npos || m.find("past the end") != std::string::npos;
    EXPECT_TRUE(known) << "cut at " << n << ": " << m;
    refused += known;
  }
  EXPECT_EQ(refused, static_cast<int>(end));
  for (std::uint64_t n = end; n <= full.size(); ++n) EXPECT_EQ(refusal(full.substr(0, n)), "(accepted)") << n;
}

TEST(GgufHostile, HugeCountsAndLengthsAreRefusedBeforeAllocating) {
  EXPECT_REFUSED(r::file(3, 0, 1ull << 60, "", ""), "header claims 1152921504606846976 metadata entries, but only 0 bytes follow");
  EXPECT_REFUSED(r::file(3, 1ull << 60, 0, "", ""), "header claims 1152921504606846976 tensors");
  std::string kv;
  r::str(kv, "k");
  r::u32(kv, 9);
  r::u32(kv, 0);
  r::u64(kv, 1ull << 62);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "key 'k' declares an array of 4611686018427387904 uint8 elements at byte 41, but only 0 bytes remain");
  kv.clear();
  r::str(kv, "k");
  r::u32(kv, 9);
  r::u32(kv, 8);
  r::u64(kv, 1000);  // 1000 strings need at least 8000 bytes
  kv += std::string(100, '\0');
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "declares an array of 1000 string elements");
  kv.clear();
  r::str(kv, "k");
  r::u32(kv, 8);
  r::u64(kv, 1ull << 63);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "string value of 'k' at byte 37 is 9223372036854775808 bytes long");
  kv.clear();
  r::u64(kv, 70000);
  kv += std::string(70000, 'k');
  r::u32(kv, 0);
  r::u8(kv, 0);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "key of metadata entry 0 at byte 24 is 70000 bytes long (at most 65535 allowed)");
}

TEST(GgufHostile, BadDimsAreRefused) {
  EXPECT_REFUSED(one_tensor({1ull << 32, 1ull << 32}, 0, 0), "tensor 'w' has more elements than int64 can count");
  EXPECT_REFUSED(one_tensor({1ull << 62}, 0, 0), "tensor 'w' would take more than 2^64 bytes");
  EXPECT_REFUSED(one_tensor({1ull << 63}, 0, 0), "tensor 'w' dimension 0 is 9223372036854775808, beyond int64");
  EXPECT_REFUSED(one_tensor({1ull << 40}, 0, 0), "tensor 'w' (4398046511104 bytes at data offset 0) ends past the end of the file");
  EXPECT_REFUSED(one_tensor({1, 1, 1, 1, 1}, 0, 0), "tensor 'w' has 5 dimensions (at most 4)");
  EXPECT_REFUSED(one_tensor({100}, 12, 0), "tensor 'w' of type q4_K has rows of 100 elements, not a multiple of its block size 256");
  EXPECT_REFUSED(one_tensor({4}, 4, 0), "tensor 'w' has unknown ggml type 4");
  EXPECT_REFUSED(one_tensor({4}, 99, 0), "tensor 'w' has unknown ggml type 99");
  EXPECT_EQ(refusal(one_tensor({4, 0, 3}, 0, 0)), "(accepted)");  // empty tensors are fine
  std::string infos;
  r::tensor_info(infos, std::string(65, 'n'), {1}, 0, 0);
  EXPECT_REFUSED(r::file(3, 1, 0, "", infos, std::string(32, '\0')), "name of tensor 0 at byte 24 is 65 bytes long (at most 64 allowed)");
}

TEST(GgufHostile, MisplacedTensorsAreRefused) {
  EXPECT_REFUSED(one_tensor({4}, 0, 4), "tensor 'w' has offset 4, not a multiple of the alignment 32");
  EXPECT_REFUSED(one_tensor({8}, 0, 64), "tensor 'w' (32 bytes at data offset 64) ends past the end of the file (data section of 64 bytes)");
  EXPECT_REFUSED(one_tensor({8}, 0, 1ull << 63), "ends past the end");
  auto two = [](std::uint64_t a_len, std::uint64_t a_off, std::uint64_t b_off) {
    std::string infos;
    r::tensor_info(infos, "a", {a_len}, 0, a_off);
    r::tensor_info(infos, "b", {8}, 0, b_off);
    return r::file(3, 2, 0, "", infos, std::string(256, '\0'));
  };
  EXPECT_REFUSED(two(8, 0, 0), "tensors 'a' (bytes 0..32) and 'b' (from byte 0) overlap");
  EXPECT_REFUSED(two(16, 0, 32), "tensors 'a' (bytes 0..64) and 'b' (from byte 32) overlap");
  EXPECT_REFUSED(two(40, 32, 64), "tensors 'a' (bytes 32..192) and 'b' (from byte 64) overlap");
  EXPECT_EQ(refusal(two(8, 64, 0)), "(accepted)");  // out of order but disjoint
  EXPECT_EQ(refusal(two(8, 32, 0)), "(accepted)");  // adjacent
  std::string infos;
  r::tensor_info(infos, "w", {1}, 0, 0);
  r::tensor_info(infos, "w", {1}, 0, 32);
  EXPECT_REFUSED(r::file(3, 2, 0, "", infos, std::string(64, '\0')), "duplicate tensor name 'w'");
}

TEST(GgufHostile, BadAlignmentIsRefused) {
  auto with_alignment = [](std::uint32_t type, std::uint64_t value) {
    std::string kv;
    r::str(kv, "general.alignment");
    r::u32(kv, type);
    if (type == 4) r::u32(kv, static_cast<std::uint32_t>(value));
    else r::u64(kv, value);
    std::string infos;
    r::tensor_info(infos, "w", {1}, 0, 0);
    return r::file(3, 1, 1, kv, infos, std::string(64, '\0'), 64);
  };
  EXPECT_REFUSED(with_alignment(4, 0), "general.alignment is 0, not a power of two");
  EXPECT_REFUSED(with_alignment(4, 48), "general.alignment is 48, not a power of two");
  EXPECT_REFUSED(with_alignment(10, 64), "general.alignment is a uint64, but must be a uint32");
  EXPECT_REFUSED(with_alignment(4, 1u << 31), "the data section would start at byte 2147483648, past the end");
  EXPECT_EQ(refusal(with_alignment(4, 64)), "(accepted)");
  EXPECT_EQ(File::from_bytes(with_alignment(4, 64), "ok").data_offset() % 64, 0u);
}

TEST(GgufHostile, BadHeadersAreRefused) {
  EXPECT_REFUSED("GGU", "too short to be a GGUF file (3 bytes)");
  EXPECT_REFUSED(std::string("GGML\x03\0\0\0", 8), "not a GGUF file (it starts with 'GGML', not 'GGUF')");
  EXPECT_REFUSED(std::string("\x7f" "ELF", 4), "not a GGUF file (it starts with '\\x7fELF'");
  EXPECT_REFUSED(r::file(1, 0, 0, "", ""), "GGUF version 1 is not supported");
  EXPECT_REFUSED(r::file(4, 0, 0, "", ""), "unsupported GGUF version 4 (this reader reads versions 2 and 3)");
  EXPECT_REFUSED(r::file(0, 0, 0, "", ""), "unsupported GGUF version 0");
  EXPECT_REFUSED(r::file(0x03000000, 0, 0, "", ""), "big-endian GGUF file (version 3 stored big-endian)");
  EXPECT_REFUSED(std::string("GGUF\x03\0\0\0\0\0", 10), "truncated: tensor count at byte 8 needs 8 bytes, but only 2 remain");
  EXPECT_EQ(refusal(r::file(3, 0, 0, "", "")), "(accepted)");  // 24 bytes: no metadata, no tensors
}

TEST(GgufHostile, BadMetadataIsRefused) {
  std::string kv;
  r::kv_u32(kv, "k", 1);
  r::kv_u32(kv, "k", 2);
  EXPECT_REFUSED(r::file(3, 0, 2, kv, ""), "duplicate metadata key 'k'");
  kv.clear();
  r::kv_u32(kv, std::string("\x01\xff", 2), 1);
  r::kv_u32(kv, std::string("\x01\xff", 2), 1);
  EXPECT_REFUSED(r::file(3, 0, 2, kv, ""), "duplicate metadata key '\\x01\\xff'");
  kv.clear();
  r::kv_u32(kv, "", 1);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "metadata entry 0 has an empty key");
  kv.clear();
  r::str(kv, "b");
  r::u32(kv, 7);
  r::u8(kv, 2);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "key 'b' holds bool byte 2 at byte 37 (must be 0 or 1)");
  kv.clear();
  r::str(kv, "t");
  r::u32(kv, 13);
  r::u32(kv, 0);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "value type of 't' is 13, not a GGUF value type (0..12)");
  kv.clear();
  r::str(kv, "t");
  r::u32(kv, 9);
  r::u32(kv, 0xffffffff);
  r::u64(kv, 0);
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "array element type of 't' is 4294967295");
  kv.clear();
  r::str(kv, "deep");
  r::u32(kv, 9);
  for (int i = 0; i < 20; ++i) {  // array of (array of (... of 1 element))
    r::u32(kv, 9);
    r::u64(kv, 1);
  }
  EXPECT_REFUSED(r::file(3, 0, 1, kv, ""), "key 'deep' nests arrays deeper than 16 levels");
}

}  // namespace
}  // namespace attend
