// Hardening of the forward: the NaN/Inf policy, concurrency, overflowing sizes, memory limits.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::to_f32;

bool row_all(const std::vector<float>& o, std::int64_t row, std::int64_t width, bool want_nan) {
  for (std::int64_t c = 0; c < width; ++c)
    if (std::isnan(o[static_cast<std::size_t>(row * width + c)]) != want_nan) return false;
  return true;
}

// Policy: NaN in q row i makes exactly output row i NaN. NaN in key/value j makes exactly the rows
// that can see j NaN. -inf in a bias masks (never NaN). +inf logits are not produced by finite input.
TEST(NanPolicy, NanInQueryPoisonsOnlyItsRow) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_isa())) continue;
    set_isa_override(isa);
    Tensor q(DType::f32, {1, 70, 1, 16}), k(DType::f32, {1, 70, 1, 16}), v(DType::f32, {1, 70, 1, 16}), o(DType::f32, {1, 70, 1, 16});
    fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
    q.data_as<float>()[5 * 16 + 3] = std::numeric_limits<float>::quiet_NaN();
    attention(q.view(), k.view(), v.view(), o.view());
    const auto out = to_f32(o.view());
    for (std::int64_t i = 0; i < 70; ++i) EXPECT_TRUE(row_all(out, i, 16, i == 5)) << isa_name(isa) << " row " << i;
  }
  clear_isa_override();
}

TEST(NanPolicy, NanInKeyPoisonsRowsThatSeeIt) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_isa())) continue;
    set_isa_override(isa);
    Tensor q(DType::f32, {1, 70, 1, 16}), k(DType::f32, {1, 70, 1, 16}), v(DType::f32, {1, 70, 1, 16}), o(DType::f32, {1, 70, 1, 16});
    fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
    k.data_as<float>()[40 * 16] = std::numeric_limits<float>::quiet_NaN();
    AttentionOptions opts;
    opts.causal = true;  // rows < 40 cannot see key 40
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    const auto out = to_f32(o.view());
    for (std::int64_t i = 0; i < 70; ++i) EXPECT_TRUE(row_all(out, i, 16, i >= 40)) << isa_name(isa) << " row " << i;
    // NaN in a value row: same rows.
    k.data_as<float>()[40 * 16] = 0.5f;
    v.data_as<float>()[40 * 16 + 2] = std::numeric_limits<float>::quiet_NaN();
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    const auto out2 = to_f32(o.view());
    for (std::int64_t i = 0; i < 70; ++i)
      EXPECT_EQ(std::isnan(out2[static_cast<std::size_t>(i * 16 + 2)]), i >= 40) << isa_name(isa) << " row " << i;
  }
  clear_isa_override();
}

TEST(NanPolicy, NegInfBiasMasksPosInfBiasIsRejectedAsNaNFree) {
  Tensor q(DType::f32, {1, 3, 1, 8}), k(DType::f32, {1, 5, 1, 8}), v(DType::f32, {1, 5, 1, 8}), o(DType::f32, {1, 3, 1, 8});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  Tensor bias(DType::f32, {1, 1, 3, 5});
  for (int i = 0; i < 15; ++i) bias.data_as<float>()[i] = (i % 5 == 2) ? 0.0f : -INFINITY;  // only key 2 visible
  AttentionOptions opts;
  opts.bias = bias.view();
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 8; ++c) EXPECT_FLOAT_EQ(o.data_as<float>()[i * 8 + c], v.data_as<float>()[2 * 8 + c]);
}

// Many threads calling attention at once on shared read-only inputs give the serial answer.
TEST(Concurrency, ManyCallersShareInputs) {
  Tensor q(DType::f32, {2, 130, 4, 32}), k(DType::f32, {2, 130, 2, 32}), v(DType::f32, {2, 130, 2, 32});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  AttentionOptions opts;
  opts.causal = true;
  Tensor expect(DType::f32, {2, 130, 4, 32});
  attention(q.view(), k.view(), v.view(), expect.view(), opts);
  const auto want = to_f32(expect.view());
  std::vector<Tensor> outs;
  for (int t = 0; t < 6; ++t) outs.emplace_back(DType::f32, std::initializer_list<std::int64_t>{2, 130, 4, 32});
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) attention(q.view(), k.view(), v.view(), outs[static_cast<std::size_t>(t)].view(), opts);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; ++t) EXPECT_EQ(to_f32(outs[static_cast<std::size_t>(t)].view()), want) << "caller " << t;
}

TEST(Validation, OverflowingShapesAreRejected) {
  float x[16] = {};
  TensorView q = TensorView::contiguous(x, DType::f32, {1, 4, 1, 4});
  TensorView huge = q;
  huge.shape = {1, std::int64_t{1} << 40, 1, 4};
  huge.stride = {0, std::int64_t{1} << 30, 4, 1};
  Tensor o(DType::f32, {1, 4, 1, 4});
  EXPECT_THROW(attention(q, huge, huge, o.view()), Error);
  EXPECT_THROW(Tensor(DType::f32, {std::int64_t{1} << 40, std::int64_t{1} << 40}), Error);
  TensorView neg = q;
  neg.shape[1] = -3;
  EXPECT_THROW(attention(neg, q, q, o.view()), Error);
}

TEST(Validation, HugeAllocationFailsEarlyWithAMessage) {
  try {
    Tensor t(DType::f32, {std::int64_t{1} << 20, std::int64_t{1} << 20});  // 4 TiB
    FAIL() << "expected attend::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("memory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attend

#include <filesystem>

namespace attend {
namespace {

// Every checked-in fuzz input (seed corpus and the regressions fuzzing found) is parsed again
// here under the normal and sanitizer builds: accepted or rejected with attend::Error, no crash.
TEST(FuzzRegressions, NpyInputsParseOrThrow) {
  int seen = 0;
  for (const char* sub : {"/tests/fuzz/corpus/npy", "/tests/fuzz/regressions/npy"}) {
    const std::filesystem::path dir = std::string(ATTEND_SOURCE_DIR) + sub;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      ++seen;
      try {
        const Tensor t = read_npy(f.path().string());
        (void)npy_bytes(t.view());
      } catch (const Error&) {
      }
    }
  }
  EXPECT_GE(seen, 5);
}

TEST(FuzzRegressions, ZeroExtentWithHugeOthersIsRejected) {
  EXPECT_THROW(parse_npy(std::string("\x93NUMPY\x01\x00", 8) + std::string("\x46\x00", 2) +
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5555555555555777, 712), }     \n",
                         "x"),
               Error);
}

}  // namespace
}  // namespace attend
