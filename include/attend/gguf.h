#pragma once
// GGUF files (llama.cpp / ggml model files), versions 2 and 3, little-endian:
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count, kv_count × (string key, u32 type, value),
//   tensor_count × (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset),
//   padding to general.alignment (default 32), then the data section; strings are u64 length + bytes.
// The reader maps the file read-only (mmap): opening a multi-GB model touches only the pages of
// its header, and a tensor's bytes are a span into the mapping, read when first used. It checks
// every count, length, offset and size against the file before using it, so a hostile file is
// refused with an attend::Error naming the file and the problem, and nothing is allocated beyond
// a small multiple of the file's size. The writer writes version 3 atomically.
// Everything lives in namespace attend::gguf. Dims are as GGUF stores them (ggml order):
// dims[0] is the fastest-varying (a [rows, cols] row-major matrix is stored as dims {cols, rows}).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include "attend/span.h"
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "attend/quant.h"

namespace attend::gguf {

// Metadata value types, numbered as in the file.
enum class ValueType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};
std::string_view value_type_name(ValueType t);  // "uint8", ..., "float64" (the spec's names)

// An array: one vector of the element type; the alternative's index is the element ValueType.
// Arrays nest (an array of arrays whose inner arrays may each have another element type).
struct Array {
  std::variant<std::vector<std::uint8_t>, std::vector<std::int8_t>, std::vector<std::uint16_t>,
               std::vector<std::int16_t>, std::vector<std::uint32_t>, std::vector<std::int32_t>,
               std::vector<float>, std::vector<bool>, std::vector<std::string>, std::vector<Array>,
               std::vector<std::uint64_t>, std::vector<std::int64_t>, std::vector<double>>
      items;

  Array() = default;
  template <typename T>
  Array(std::vector<T> v) : items(std::move(v)) {}  // NOLINT(google-explicit-constructor): Value{vector}
  ValueType element_type() const { return static_cast<ValueType>(items.index()); }
  std::size_t size() const;
  // Written out rather than defaulted, so the header compiles as C++17.
  bool operator==(const Array& other) const { return items == other.items; }
  bool operator!=(const Array& other) const { return !(*this == other); }
};

// One metadata value; the alternative's index is its ValueType.
using Value = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t, std::int32_t,
                           float, bool, std::string, Array, std::uint64_t, std::int64_t, double>;
inline ValueType type_of(const Value& v) { return static_cast<ValueType>(v.index()); }

struct TensorInfo {
  std::string name;
  std::vector<std::int64_t> dims;  // as stored: dims[0] fastest (ggml's ne[0]); empty = one element
  GgmlType type = GgmlType::f32;
  std::uint64_t offset = 0;        // as stored: from the start of the data section
  std::uint64_t file_offset = 0;   // from the start of the file
  std::uint64_t bytes = 0;         // row_bytes(type, dims[0]) · dims[1] · dims[2] · dims[3]
  std::int64_t elements() const;
};

// A parsed GGUF file. Copies share the mapping; spans stay valid while any copy lives. If another
// process truncates the file while it is mapped, touching the lost pages raises SIGBUS (mmap's
// rule; the reader cannot prevent it).
class File {
 public:
  // Maps and parses `path` (a regular file; directories, FIFOs and devices are refused).
  static File open(const std::string& path);
  // Parses bytes held in memory (taken over by the File); `name` is used in error messages.
  static File from_bytes(std::string bytes, const std::string& name);

  const std::string& name() const { return name_; }
  std::uint32_t version() const { return version_; }
  std::uint32_t alignment() const { return alignment_; }      // general.alignment or 32
  std::uint64_t data_offset() const { return data_offset_; }  // start of the data section
  std::uint64_t file_size() const;

  // Metadata, keys in file order.
  const std::vector<std::string>& keys() const { return keys_; }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const Value* find(std::string_view key) const;  // nullptr when absent
  const Value& get(std::string_view key) const;   // throws when absent
  // Typed getters throw attend::Error naming the key when it is absent or of another type. The
  // integer getters take any integer type whose value fits (GGUF writers use u32 or u64 for
  // counts); get_f32/get_f64 take float32 or float64.
  const std::string& get_string(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::uint32_t get_u32(std::string_view key) const;
  std::int32_t get_i32(std::string_view key) const;
  std::uint64_t get_u64(std::string_view key) const;
  std::int64_t get_i64(std::string_view key) const;
  float get_f32(std::string_view key) const;
  double get_f64(std::string_view key) const;
  // An array's elements, converted like the scalar getters (integers if every element fits,
  // f32/f64 to either, strings and bools exactly). T: std::uint8_t ... std::int64_t, float,
  // double, bool, std::string. For zero-copy access use std::get<Array>(get(key)).
  template <typename T>
  std::vector<T> get_array(std::string_view key) const;

  // Tensors, in file order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent
  const TensorInfo& tensor(std::string_view name) const;       // throws when absent
  Span<const std::byte> tensor_data(const TensorInfo& t) const;
  Span<const std::byte> tensor_data(std::string_view name) const { return tensor_data(tensor(name)); }
  // All elements converted to f32 (types with a reference conversion, quant.h): dims[0]-fastest order.
  std::vector<float> tensor_f32(std::string_view name) const;

 private:
  struct Storage;
  static File parse(std::shared_ptr<const Storage> storage, const std::string& name);
  std::shared_ptr<const Storage> storage_;
  std::string name_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = 32;
  std::uint64_t data_offset_ = 0;
  std::vector<std::string> keys_;
  std::vector<Value> values_;                                  // parallel to keys_
  std::map<std::string, std::size_t, std::less<>> key_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

// Builds a version-3 GGUF file. Keys keep the order of their first set(); tensors the order of
// add_tensor(), each at the next multiple of the alignment (general.alignment, default 32).
class Writer {
 public:
  // Sets (or replaces) a metadata value. Keys: non-empty, at most 65535 bytes. The value's C++
  // type picks the GGUF type: set(k, std::uint32_t{8}), set(k, "text") (a string), set(k, 0.5f),
  // set(k, std::vector<std::string>{...}) (an array of strings).
  void set(const std::string& key, Value value);
  // Sets general.alignment (u32): a power of two.
  void set_alignment(std::uint32_t alignment);
  // Adds a tensor whose bytes are `data` (exactly its size), which must stay alive until
  // bytes() / write(); nothing is copied. dims in GGUF order (dims[0] fastest), 1 to 4 of them;
  // names are 1 to 63 bytes (ggml's limit) and unique.
  void add_tensor(const std::string& name, std::vector<std::int64_t> dims, GgmlType type, Span<const std::byte> data);
  // Adds a tensor converted from f32 values (dims[0]-fastest order) with quantize_row; the
  // converted bytes are kept by the writer.
  void add_tensor_f32(const std::string& name, std::vector<std::int64_t> dims, GgmlType type, const float* values);

  std::string bytes() const;                 // the whole file
  void write(const std::string& path) const;  // atomically (temporary file, fsync, rename)

 private:
  struct Pending {
    TensorInfo info;
    Span<const std::byte> data;
    std::shared_ptr<std::vector<std::byte>> owned;  // add_tensor_f32's bytes
  };
  std::vector<std::string_view> pieces(std::string& header, std::string& padding) const;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Pending> tensors_;
};

}  // namespace attend::gguf
