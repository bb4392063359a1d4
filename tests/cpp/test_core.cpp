#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <thread>

#include "attend/attend.h"
#include "core/scratch_cache.h"
#include "core/thread_pool.h"
#include "test_util.h"

namespace attend {
namespace {

TEST(DType, Bf16RoundTripAndRounding) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(-3.5f)), -3.5f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(INFINITY)), INFINITY);
  // 1 + 2^-8 is halfway between bf16 1 and 1+2^-7: ties to even -> 1.
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
}

TEST(DType, F16MatchesIeeeOnEveryHalf) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(f16_to_f32(f32_to_f16(65504.0f)), 65504.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(1e6f)), INFINITY);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
}

// convert_to_f32's F16C path (AVX2/AVX-512) against the scalar conversion on every half, with a
// length that leaves a tail: bitwise equal, NaNs NaN with the same sign.
TEST(DType, F16ArrayConversionMatchesScalarOnEveryPath) {
  std::vector<std::uint16_t> halves(65536 + 5);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i * 40503u);  // every half, shuffled
  for (Isa isa : test::supported_isas()) {
    test::IsaGuard guard(isa);
    std::vector<float> out(halves.size());
    convert_to_f32(halves.data(), DType::f16, out.data(), out.size());
    for (std::size_t i = 0; i < halves.size(); ++i) {
      const float want = f16_to_f32(halves[i]);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(out[i]) && std::signbit(out[i]) == std::signbit(want)) << isa_name(isa) << " half 0x" << std::hex << halves[i];
      } else {
        ASSERT_EQ(std::memcmp(&out[i], &want, 4), 0) << isa_name(isa) << " half 0x" << std::hex << halves[i];
      }
    }
  }
}

TEST(ThreadPool, RunsEveryTaskOnceAndPropagatesErrors) {
  core::ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(1000, [&](std::int64_t t, int w) {
    ASSERT_GE(w, 0);
    ASSERT_LT(w, 3);
    hits[static_cast<std::size_t>(t)]++;
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  EXPECT_THROW(pool.parallel_for(10, [](std::int64_t t, int) { if (t == 5) throw Error("boom"); }), Error);
  // Nested and concurrent use run inline instead of deadlocking.
  std::atomic<int> n{0};
  pool.parallel_for(4, [&](std::int64_t, int) { pool.parallel_for(4, [&](std::int64_t, int) { n++; }); });
  EXPECT_EQ(n.load(), 16);
}

TEST(Npy, RoundTripAndHostileHeaders) {
  Tensor t(DType::f32, {2, 3, 4});
  test::fill_uniform(t, 1);
  const std::string bytes = npy_bytes(t.view());
  const Tensor back = parse_npy(bytes, "mem");
  ASSERT_EQ(back.rank(), 3);
  EXPECT_EQ(back.dim(2), 4);
  EXPECT_EQ(test::to_f32(back.view()), test::to_f32(t.view()));
  // A permuted (strided) view is written in its logical order.
  Tensor m(DType::f32, {2, 3, 1, 1});
  for (int i = 0; i < 6; ++i) m.data_as<float>()[i] = static_cast<float>(i);
  const Tensor mt = parse_npy(npy_bytes(m.view().permuted(1, 0, 2, 3)), "mem");
  EXPECT_EQ(mt.data_as<float>()[1], 3.0f);

  EXPECT_THROW(parse_npy("garbage", "x"), Error);
  EXPECT_THROW(parse_npy(bytes.substr(0, bytes.size() - 4), "x"), Error);  // truncated data
  std::string huge = bytes;
  huge.replace(huge.find("(2,3,4)"), 7, "(99999999999,3,4)");  // absurd shape: more data than present
  EXPECT_THROW(parse_npy(huge, "x"), Error);
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THROW(parse_npy(fortran, "x"), Error);
  std::string i64 = bytes;
  i64.replace(i64.find("<f4"), 3, "<i8");
  try {
    parse_npy(i64, "x.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dtype"), std::string::npos);
  }
}

TEST(AtomicFile, ReplacesWholeOrNothing) {
  const std::string path = ::testing::TempDir() + "/attend_atomic.bin";
  write_file_atomically(path, "first");
  write_file_atomically(path, "second version");
  EXPECT_EQ(read_file(path), "second version");
  EXPECT_THROW(write_file_atomically("/nonexistent-dir/x.bin", "data"), Error);
  std::remove(path.c_str());
}

TEST(Runtime, IsaOverrideNeverExceedsTheCpu) {
  const Isa startup = active_isa();  // ATTEND_ISA when set, else the detected path
  EXPECT_LE(static_cast<int>(startup), static_cast<int>(detected_isa()));
  EXPECT_NO_THROW(set_isa_override(Isa::scalar));
  EXPECT_EQ(active_isa(), Isa::scalar);
  clear_isa_override();  // back to the start-up path, not to the detected one
  EXPECT_EQ(active_isa(), startup);
  if (detected_isa() != Isa::avx512) {
    EXPECT_THROW(set_isa_override(Isa::avx512), Error);
  }
}

// The forward sizes its key tiles from these: they must be real sizes (a fallback when the OS
// reports none), with L2 at least as large as L1d, and the same on every call.
TEST(Runtime, CacheSizesArePlausible) {
  const CacheSizes c = cache_sizes();
  EXPECT_GE(c.l1d, 4 << 10);
  EXPECT_LE(c.l1d, 16 << 20);
  EXPECT_GE(c.l2, c.l1d);
  EXPECT_EQ(cache_sizes().l2, c.l2);
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

TEST(Image, PngHasSignatureAndSize) {
  Image img(7, 3);
  img.fill_rect(1, 1, 4, 2, colormap(0.5f));
  img.line(0, 0, 6, 2, {255, 0, 0});
  EXPECT_EQ(img.at(0, 0).r, 255);
  const std::string png = png_bytes(img);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  // IHDR width/height, big-endian at bytes 16..23.
  EXPECT_EQ(static_cast<unsigned char>(png[19]), 7);
  EXPECT_EQ(static_cast<unsigned char>(png[23]), 3);
  EXPECT_THROW(Image(0, 5), Error);
}

}  // namespace
}  // namespace attend

// The per-thread scratch cache hands a returned block to the next same-size request, never a block
// much larger than asked, and frees what it holds on request.
TEST(ScratchCache, ReusesSameSizeBlocksAndNeverOversizes) {
  attend::release_scratch_memory();
  float* first = nullptr;
  {
    attend::core::ScratchFloats a("test", "a", 1 << 20);
    first = a.get();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u);
    first[(1 << 20) - 1] = 1.0f;  // the whole block is usable
  }
  {
    attend::core::ScratchFloats again("test", "again", 1 << 20);
    EXPECT_EQ(again.get(), first);  // same size: the cached block
    EXPECT_EQ(again.capacity(), std::uint64_t{1} << 20);
    attend::core::ScratchFloats nested("test", "nested", 1 << 20);
    EXPECT_NE(nested.get(), again.get());  // a block in use is never handed out twice
  }
  {
    attend::core::ScratchFloats small("test", "small", 1000);  // far smaller: not a cached 4 MiB block
    EXPECT_GE(small.capacity(), 1000u);
    EXPECT_LT(small.capacity(), 2000u);
  }
  attend::release_scratch_memory();
}
