// GGUF writer -> reader round trips: every metadata type (nested arrays too), every tensor type,
// alignment variants, typed getters, a file compared byte for byte with one assembled by hand
// from the specification, atomic writes, the mmap (no resident memory for untouched tensors) and
// the refusal of non-regular files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/gguf.h"
#include "attend/io.h"
#include "gguf_raw.h"

namespace attend {
namespace {

using gguf::Array;
using gguf::File;
using gguf::Value;
using gguf::ValueType;
using gguf::Writer;

std::string error_of(auto fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("attend_gguf_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::span<const std::byte> as_bytes(const std::vector<std::uint8_t>& v) { return std::as_bytes(std::span(v)); }

// Every scalar type at its extremes, strings with UTF-8 and NUL, arrays of every type, nested arrays.
Writer all_types_writer() {
  Writer w;
  w.set("general.architecture", "llama");
  w.set("t.u8", std::uint8_t{255});
  w.set("t.i8", std::int8_t{-128});
  w.set("t.u16", std::uint16_t{65535});
  w.set("t.i16", std::int16_t{-32768});
  w.set("t.u32", std::uint32_t{4000000000u});
  w.set("t.i32", std::int32_t{-2000000000});
  w.set("t.f32", 1.5f);
  w.set("t.bool_true", true);
  w.set("t.bool_false", false);
  w.set("t.string", std::string("h\xc3\xa9llo\0world", 12));
  w.set("t.empty_string", std::string());
  w.set("t.u64", std::numeric_limits<std::uint64_t>::max());
  w.set("t.i64", std::numeric_limits<std::int64_t>::min());
  w.set("t.f64", -2.25e300);
  w.set("a.u8", std::vector<std::uint8_t>{0, 1, 255});
  w.set("a.i8", std::vector<std::int8_t>{-128, 127});
  w.set("a.u16", std::vector<std::uint16_t>{1, 65535});
  w.set("a.i16", std::vector<std::int16_t>{-1, 300});
  w.set("a.u32", std::vector<std::uint32_t>{7, 4000000000u});
  w.set("a.i32", std::vector<std::int32_t>{-5, 6, 1 << 30});
  w.set("a.f32", std::vector<float>{0.25f, -1e30f, std::numeric_limits<float>::infinity()});
  w.set("a.bool", std::vector<bool>{true, false, true});
  w.set("a.string", std::vector<std::string>{"<s>", "", "\xe2\x96\x81the"});
  w.set("a.u64", std::vector<std::uint64_t>{1ull << 63});
  w.set("a.i64", std::vector<std::int64_t>{-(1ll << 62), 3});
  w.set("a.f64", std::vector<double>{1e-300, 2.0});
  w.set("a.empty", std::vector<std::int32_t>{});
  w.set("a.nested", std::vector<Array>{Array(std::vector<std::string>{"a b", "c"}), Array(std::vector<std::uint8_t>{9}),
                                       Array(std::vector<Array>{Array(std::vector<double>{0.5})}), Array()});
  return w;
}

TEST(Gguf, EveryMetadataTypeRoundTrips) {
  const Writer w = all_types_writer();
  const File f = File::from_bytes(w.bytes(), "all_types");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  ASSERT_EQ(f.keys().size(), 29u);
  EXPECT_EQ(f.keys()[0], "general.architecture");
  EXPECT_EQ(f.keys()[28], "a.nested");
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(std::get<std::uint8_t>(f.get("t.u8")), 255);
  EXPECT_EQ(std::get<std::int8_t>(f.get("t.i8")), -128);
  EXPECT_EQ(std::get<std::uint16_t>(f.get("t.u16")), 65535);
  EXPECT_EQ(std::get<std::int16_t>(f.get("t.i16")), -32768);
  EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_i32("t.i32"), -2000000000);
  EXPECT_EQ(f.get_f32("t.f32"), 1.5f);
  EXPECT_TRUE(f.get_bool("t.bool_true"));
  EXPECT_FALSE(f.get_bool("t.bool_false"));
  EXPECT_EQ(f.get_string("t.string"), std::string("h\xc3\xa9llo\0world", 12));
  EXPECT_EQ(f.get_string("t.empty_string"), "");
  EXPECT_EQ(f.get_u64("t.u64"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(f.get_i64("t.i64"), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(f.get_f64("t.f64"), -2.25e300);
  using T = ValueType;
  const T types[] = {T::string, T::u8, T::i8, T::u16, T::i16, T::u32, T::i32, T::f32, T::boolean, T::boolean, T::string,
                     T::string, T::u64, T::i64, T::f64};
  const T element_types[] = {T::u8, T::i8, T::u16, T::i16, T::u32, T::i32, T::f32, T::boolean, T::string, T::u64, T::i64,
                             T::f64, T::i32, T::array};
  for (std::size_t i = 0; i < 15; ++i) EXPECT_EQ(gguf::type_of(f.get(f.keys()[i])), types[i]) << f.keys()[i];
  for (std::size_t i = 0; i < 14; ++i) {
    const Value& v = f.get(f.keys()[15 + i]);
    ASSERT_EQ(gguf::type_of(v), T::array);
    EXPECT_EQ(std::get<Array>(v).element_type(), element_types[i]) << f.keys()[15 + i];
  }
  EXPECT_EQ(f.get_array<std::uint8_t>("a.u8"), (std::vector<std::uint8_t>{0, 1, 255}));
  EXPECT_EQ(f.get_array<std::int8_t>("a.i8"), (std::vector<std::int8_t>{-128, 127}));
  EXPECT_EQ(f.get_array<std::uint16_t>("a.u16"), (std::vector<std::uint16_t>{1, 65535}));
  EXPECT_EQ(f.get_array<std::int16_t>("a.i16"), (std::vector<std::int16_t>{-1, 300}));
  EXPECT_EQ(f.get_array<std::uint32_t>("a.u32"), (std::vector<std::uint32_t>{7, 4000000000u}));
  EXPECT_EQ(f.get_array<std::int32_t>("a.i32"), (std::vector<std::int32_t>{-5, 6, 1 << 30}));
  EXPECT_EQ(f.get_array<float>("a.f32"), (std::vector<float>{0.25f, -1e30f, std::numeric_limits<float>::infinity()}));
  EXPECT_EQ(f.get_array<bool>("a.bool"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.get_array<std::string>("a.string"), (std::vector<std::string>{"<s>", "", "\xe2\x96\x81the"}));
  EXPECT_EQ(f.get_array<std::uint64_t>("a.u64"), (std::vector<std::uint64_t>{1ull << 63}));
  EXPECT_EQ(f.get_array<std::int64_t>("a.i64"), (std::vector<std::int64_t>{-(1ll << 62), 3}));
  EXPECT_EQ(f.get_array<double>("a.f64"), (std::vector<double>{1e-300, 2.0}));
  EXPECT_TRUE(f.get_array<std::int32_t>("a.empty").empty());
  const Array& nested = std::get<Array>(f.get("a.nested"));
  ASSERT_EQ(nested.element_type(), ValueType::array);
  const auto& inner = std::get<std::vector<Array>>(nested.items);
  ASSERT_EQ(inner.size(), 4u);
  EXPECT_EQ(std::get<std::vector<std::string>>(inner[0].items), (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(std::get<std::vector<std::uint8_t>>(inner[1].items), (std::vector<std::uint8_t>{9}));
  EXPECT_EQ(std::get<std::vector<double>>(std::get<std::vector<Array>>(inner[2].items)[0].items), (std::vector<double>{0.5}));
  EXPECT_EQ(inner[3].size(), 0u);
  // The whole value table compares equal to what was written, type for type.
  const File again = File::from_bytes(w.bytes(), "again");
  for (const std::string& k : f.keys()) EXPECT_TRUE(f.get(k) == again.get(k)) << k;
  // Re-writing the parsed values gives the same bytes.
  Writer w2;
  for (const std::string& k : f.keys()) w2.set(k, f.get(k));
  EXPECT_EQ(w2.bytes(), w.bytes());
}

TEST(Gguf, TypedGettersConvertWhatFitsAndNameTheKeyOtherwise) {
  const File f = File::from_bytes(all_types_writer().bytes(), "getters");
  EXPECT_EQ(f.get_u64("t.u8"), 255u);                 // widening
  EXPECT_EQ(f.get_i32("t.u16"), 65535);
  EXPECT_EQ(f.get_f64("t.f32"), 1.5);
  EXPECT_EQ(f.get_array<std::int64_t>("a.u8"), (std::vector<std::int64_t>{0, 1, 255}));
  EXPECT_EQ(f.get_array<double>("a.f32")[0], 0.25);
  EXPECT_TRUE(f.has("t.u64"));
  EXPECT_FALSE(f.has("t.nope"));
  EXPECT_EQ(f.find("t.nope"), nullptr);
  EXPECT_EQ(error_of([&] { (void)f.get_u32("t.u64"); }), "gguf 'getters': key 't.u64' is uint64 18446744073709551615, not a uint32 (out of range)");
  EXPECT_EQ(error_of([&] { (void)f.get_u32("t.i8"); }), "gguf 'getters': key 't.i8' is int8 -128, not a uint32 (out of range)");
  EXPECT_EQ(error_of([&] { (void)f.get_string("t.u32"); }), "gguf 'getters': key 't.u32' is uint32, not a string");
  EXPECT_EQ(error_of([&] { (void)f.get_u32("t.f32"); }), "gguf 'getters': key 't.f32' is float32, not a uint32");
  EXPECT_EQ(error_of([&] { (void)f.get_bool("t.u8"); }), "gguf 'getters': key 't.u8' is uint8 255, not a bool");
  EXPECT_EQ(error_of([&] { (void)f.get_string("t.nope"); }), "gguf 'getters': no metadata key 't.nope'");
  EXPECT_EQ(error_of([&] { (void)f.get_array<std::int8_t>("a.u8"); }),
            "gguf 'getters': array 'a.u8' of uint8 has element 2 that is not an int8 (out of range)");
  EXPECT_EQ(error_of([&] { (void)f.get_array<std::string>("a.i32"); }), "gguf 'getters': array 'a.i32' of int32 has element 0 that is not a string");
  EXPECT_EQ(error_of([&] { (void)f.get_array<float>("t.f32"); }), "gguf 'getters': key 't.f32' is float32, not an array");
  EXPECT_EQ(error_of([&] { (void)f.get_array<float>("a.nested"); }), "gguf 'getters': array 'a.nested' holds arrays, not float elements");
}

// Rows of every type with a reference conversion, plus a type without one (q5_K, raw bytes).
TEST(Gguf, EveryTensorTypeRoundTrips) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  std::vector<float> values(512 * 3);
  for (float& v : values) v = g(rng);
  Writer w;
  w.set("general.architecture", "test");
  const GgmlType types[] = {GgmlType::f32, GgmlType::f16, GgmlType::bf16, GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K};
  for (GgmlType t : types) w.add_tensor_f32(std::string("w.") + std::string(ggml_type_name(t)), {512, 3}, t, values.data());
  std::vector<std::uint8_t> q5(row_bytes(GgmlType::q5_K, 256) * 2);
  for (std::size_t i = 0; i < q5.size(); ++i) q5[i] = static_cast<std::uint8_t>(i * 7);
  w.add_tensor("raw.q5_K", {256, 1, 2, 1}, GgmlType::q5_K, as_bytes(q5));
  w.add_tensor("scalar_like", {1}, GgmlType::f32, std::as_bytes(std::span(values.data(), 1)));
  w.add_tensor("empty", {0, 4}, GgmlType::q8_0, {});
  const File f = File::from_bytes(w.bytes(), "tensors");
  EXPECT_EQ(f.get_u32("general.quantization_version"), 2u);  // added because tensors are quantized
  ASSERT_EQ(f.tensors().size(), 10u);
  for (GgmlType t : types) {
    const std::string name = std::string("w.") + std::string(ggml_type_name(t));
    const gguf::TensorInfo& info = f.tensor(name);
    EXPECT_EQ(info.dims, (std::vector<std::int64_t>{512, 3}));
    EXPECT_EQ(info.type, t);
    EXPECT_EQ(info.bytes, row_bytes(t, 512) * 3);
    EXPECT_EQ(info.file_offset % 32, 0u);
    std::vector<std::uint8_t> want(row_bytes(t, 512 * 3));
    quantize_row(t, values.data(), want.data(), 512 * 3);
    const auto got = f.tensor_data(info);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size()), 0) << name;
    std::vector<float> deq(values.size());
    dequantize_row(t, want.data(), deq.data(), 512 * 3);
    EXPECT_EQ(f.tensor_f32(name), deq) << name;
  }
  const auto raw = f.tensor_data("raw.q5_K");
  EXPECT_EQ(f.tensor("raw.q5_K").dims, (std::vector<std::int64_t>{256, 1, 2, 1}));
  ASSERT_EQ(raw.size(), q5.size());
  EXPECT_EQ(std::memcmp(raw.data(), q5.data(), q5.size()), 0);
  EXPECT_NE(error_of([&] { (void)f.tensor_f32("raw.q5_K"); }).find("q5_K, which has no conversion"), std::string::npos);
  EXPECT_EQ(f.tensor_f32("scalar_like"), std::vector<float>{values[0]});
  EXPECT_EQ(f.tensor("empty").bytes, 0u);
  EXPECT_EQ(f.tensor("empty").elements(), 0);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
  EXPECT_EQ(error_of([&] { (void)f.tensor("nope"); }), "gguf 'tensors': no tensor 'nope'");
}

TEST(Gguf, AlignmentIsHonoured) {
  std::vector<std::uint8_t> a(34 * 3), b(6);  // 3 q8_0 blocks, 3 f16
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i);
  for (std::uint32_t al : {1u, 8u, 32u, 64u, 4096u}) {
    Writer w;
    if (al != 32) w.set_alignment(al);
    w.set("k", std::string(al % 7 + 1, 'x'));  // shifts the header end
    w.add_tensor("a", {96}, GgmlType::q8_0, as_bytes(a));
    w.add_tensor("b", {3}, GgmlType::f16, as_bytes(b));
    const std::string bytes = w.bytes();
    const File f = File::from_bytes(bytes, "aligned");
    EXPECT_EQ(f.alignment(), al);
    EXPECT_EQ(f.has("general.alignment"), al != 32);
    EXPECT_EQ(f.data_offset() % al, 0u) << al;
    EXPECT_EQ(f.tensor("a").file_offset, f.data_offset());
    const std::uint64_t b_offset = (102 + al - 1) / al * al;  // a's 102 bytes, padded
    EXPECT_EQ(f.tensor("b").offset, b_offset) << al;
    EXPECT_EQ(bytes.size(), f.data_offset() + b_offset + (6 + al - 1) / al * al) << "padded after the last tensor too";
    EXPECT_EQ(std::memcmp(f.tensor_data("a").data(), a.data(), a.size()), 0);
  }
  Writer w;
  EXPECT_NE(error_of([&] { w.set_alignment(48); }).find("not a power of two"), std::string::npos);
  EXPECT_NE(error_of([&] { w.set("general.alignment", std::uint64_t{64}); }).find("must be a uint32, not a uint64"), std::string::npos);
}

// A file assembled by hand from the specification equals the writer's bytes.
TEST(Gguf, WriterBytesMatchTheSpecificationByHand) {
  namespace r = gguf_raw;
  std::string kvs;
  r::kv_str(kvs, "general.architecture", "llama");
  r::kv_u32(kvs, "llama.block_count", 2);
  r::str(kvs, "tok.list");
  r::u32(kvs, 9);  // array
  r::u32(kvs, 8);  // of strings
  r::u64(kvs, 2);
  r::str(kvs, "a");
  r::str(kvs, "bc");
  std::string infos;
  r::tensor_info(infos, "w", {2, 3}, 0, 0);
  r::tensor_info(infos, "v", {4}, 1, 32);
  std::string data(24, '\0');
  for (int i = 0; i < 6; ++i) {
    const float x = static_cast<float>(i) - 2.5f;
    std::memcpy(&data[static_cast<std::size_t>(4 * i)], &x, 4);
  }
  data.append(8, '\0');                                         // pad w's 24 bytes to 32
  data.append("\x00\x3c\x00\x40\x00\x42\x00\x44", 8);          // f16 1, 2, 3, 4
  data.append(24, '\0');                                        // pad v to 32
  const std::string hand = r::file(3, 2, 3, kvs, infos, data);

  Writer w;
  w.set("general.architecture", "llama");
  w.set("llama.block_count", std::uint32_t{2});
  w.set("tok.list", std::vector<std::string>{"a", "bc"});
  const float wv[6] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
  const std::uint16_t vv[4] = {0x3c00, 0x4000, 0x4200, 0x4400};
  w.add_tensor("w", {2, 3}, GgmlType::f32, std::as_bytes(std::span(wv)));
  w.add_tensor("v", {4}, GgmlType::f16, std::as_bytes(std::span(vv)));
  EXPECT_EQ(w.bytes(), hand);
  EXPECT_EQ(File::from_bytes(hand, "hand").tensor_f32("v"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(Gguf, Version2FilesAreRead) {
  std::string bytes = all_types_writer().bytes();
  bytes[4] = 2;  // v2 and v3 share the layout
  const File f = File::from_bytes(bytes, "v2");
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
}

TEST(Gguf, WriterRefusesWhatReadersCannotLoad) {
  Writer w;
  const std::vector<std::uint8_t> d(8);
  EXPECT_NE(error_of([&] { w.set("", std::uint8_t{1}); }).find("keys are 1 to 65535 bytes"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor(std::string(64, 'n'), {2}, GgmlType::f32, as_bytes(d)); }).find("has 64 bytes (1 to 63 allowed)"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {3}, GgmlType::f32, as_bytes(d)); }).find("needs 12 bytes, got 8"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {16}, GgmlType::q8_0, as_bytes(d)); }).find("multiple of 32 elements, not 16"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {}, GgmlType::f32, as_bytes(d)); }).find("0 dimensions"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {1, 1, 1, 1, 2}, GgmlType::f32, as_bytes(d)); }).find("5 dimensions"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {2, -1}, GgmlType::f32, as_bytes(d)); }).find("negative dimension"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", {2}, static_cast<GgmlType>(4), as_bytes(d)); }).find("unknown ggml type 4"), std::string::npos);
  w.add_tensor("x", {2}, GgmlType::f32, as_bytes(d));
  EXPECT_NE(error_of([&] { w.add_tensor("x", {2}, GgmlType::f32, as_bytes(d)); }).find("duplicate tensor name 'x'"), std::string::npos);
  Array deep;
  for (int i = 0; i < 17; ++i) deep = Array(std::vector<Array>{deep});
  EXPECT_NE(error_of([&] { w.set("deep", deep); }).find("nests arrays deeper than 16"), std::string::npos);
  w.set("k", std::uint8_t{1});
  w.set("k", std::string("replaced"));  // set() replaces in place
  const File f = File::from_bytes(w.bytes(), "w");
  EXPECT_EQ(f.keys(), std::vector<std::string>{"k"});
  EXPECT_EQ(f.get_string("k"), "replaced");
}

TEST(Gguf, WritesAtomicallyAndOpensByMapping) {
  const auto dir = temp_dir();
  const std::string path = (dir / "model.gguf").string();
  Writer w = all_types_writer();
  std::vector<float> v(256, 0.5f);
  w.add_tensor_f32("t", {256}, GgmlType::f16, v.data());
  w.write(path);
  const File f = File::open(path);
  EXPECT_EQ(f.name(), path);
  EXPECT_EQ(f.file_size(), std::filesystem::file_size(path));
  EXPECT_EQ(f.tensor_f32("t"), v);  // 0.5 is exact in f16
  Writer w2;
  w2.set("general.architecture", "second");
  w2.write(path);  // replaces; the first mapping stays valid
  EXPECT_EQ(File::open(path).get_string("general.architecture"), "second");
  EXPECT_EQ(f.tensor_f32("t"), v);
  EXPECT_THROW(w2.write((dir / "missing_dir" / "x.gguf").string()), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing_dir"));
  std::size_t leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) leftovers += e.path().string().find(".tmp.") != std::string::npos;
  EXPECT_EQ(leftovers, 0u);
  std::filesystem::remove_all(dir);
}

std::uint64_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A 4 GiB tensor in a sparse file: opening the file and taking its span cost no resident memory.
TEST(Gguf, OpeningAHugeFileTouchesOnlyItsHeader) {
  namespace r = gguf_raw;
  const std::uint64_t rows = 1 << 20, cols = 1024;  // 2^30 f32 = 4 GiB
  std::string infos;
  r::tensor_info(infos, "huge", {cols, rows}, 0, 0);
  const std::string header = r::file(3, 1, 0, "", infos);
  const auto dir = temp_dir();
  const std::string path = (dir / "sparse.gguf").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << header;
  }
  std::filesystem::resize_file(path, header.size() + rows * cols * 4);  // sparse: no blocks written
  const std::uint64_t before = resident_bytes();
  const File f = File::open(path);
  const auto data = f.tensor_data("huge");
  EXPECT_EQ(data.size(), rows * cols * 4);
  EXPECT_EQ(data[data.size() - 1], std::byte{0});  // one page touched at the end
  EXPECT_LT(resident_bytes() - before, 64u << 20) << "the 4 GiB tensor must not become resident";
  std::filesystem::remove_all(dir);
}

TEST(Gguf, OnlyRegularFilesAreOpened) {
  const auto dir = temp_dir();
  EXPECT_NE(error_of([&] { (void)File::open(dir.string()); }).find("is not a regular file"), std::string::npos);
  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { (void)File::open(fifo); }).find("is not a regular file"), std::string::npos);  // and does not block
  EXPECT_NE(error_of([&] { (void)File::open("/dev/zero"); }).find("gguf '/dev/zero': is not a regular file"), std::string::npos);
  EXPECT_NE(error_of([&] { (void)File::open((dir / "absent.gguf").string()); }).find("cannot open: No such file"), std::string::npos);
  const std::string empty = (dir / "empty.gguf").string();
  std::ofstream(empty).close();
  EXPECT_NE(error_of([&] { (void)File::open(empty); }).find("too short to be a GGUF file (0 bytes)"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attend
