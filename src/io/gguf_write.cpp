// The GGUF writer: version 3, keys in order of first set(), tensors laid out in order of
// add_tensor(), each at the next multiple of the alignment and padded with zeros (as ggml does,
// after the last one too). The file is written atomically, tensor bytes straight from the caller.
#include <cstring>
#include <type_traits>

#include "attend/io.h"
#include "io/gguf_format.h"

namespace attend::gguf {

using attend::detail::fail;

namespace {

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_string(std::string& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  out.append(s);
}

void put_array(std::string& out, const Array& a);

template <typename T>
void put_scalar(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) put_string(out, v);
  else if constexpr (std::is_same_v<T, Array>) put_array(out, v);
  else if constexpr (std::is_same_v<T, bool>) put<std::uint8_t>(out, v ? 1 : 0);
  else put<T>(out, v);
}

void put_array(std::string& out, const Array& a) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(a.element_type()));
  put<std::uint64_t>(out, a.size());
  std::visit([&](const auto& items) {
    for (const auto& x : items) put_scalar<typename std::decay_t<decltype(items)>::value_type>(out, x);
  }, a.items);
}

// Arrays nest at most kMaxArrayDepth deep, so the reader reads back whatever the writer writes.
void check_depth(const Array& a, const std::string& key, int depth) {
  if (depth > detail::kMaxArrayDepth) fail("gguf::Writer::set", "key '", key, "' nests arrays deeper than ", detail::kMaxArrayDepth, " levels");
  if (const auto* inner = std::get_if<std::vector<Array>>(&a.items))
    for (const Array& x : *inner) check_depth(x, key, depth + 1);
}

std::uint64_t padded(std::uint64_t n, std::uint64_t alignment) { return n + (alignment - n % alignment) % alignment; }

}  // namespace

void Writer::set(const std::string& key, Value value) {
  if (key.empty() || key.size() > detail::kMaxKeyBytes)
    fail("gguf::Writer::set", "key of ", key.size(), " bytes (keys are 1 to ", detail::kMaxKeyBytes, " bytes)");
  if (const auto* a = std::get_if<Array>(&value)) check_depth(*a, key, 1);
  if (key == detail::kAlignmentKey) {
    const auto* al = std::get_if<std::uint32_t>(&value);
    if (al == nullptr) fail("gguf::Writer::set", detail::kAlignmentKey, " must be a uint32, not a ", value_type_name(type_of(value)));
    if (*al == 0 || (*al & (*al - 1)) != 0 || *al > detail::kMaxWriteAlignment)
      fail("gguf::Writer::set", detail::kAlignmentKey, " ", *al, " is not a power of two up to ", detail::kMaxWriteAlignment);
  }
  for (auto& [k, v] : kv_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void Writer::set_alignment(std::uint32_t alignment) { set(detail::kAlignmentKey, Value(alignment)); }

void Writer::add_tensor(const std::string& name, std::vector<std::int64_t> dims, GgmlType type, Span<const std::byte> data) {
  const char* where = "gguf::Writer::add_tensor";
  if (name.empty() || name.size() > detail::kMaxWriteNameBytes)
    fail(where, "tensor name '", detail::printable(name), "' has ", name.size(), " bytes (1 to ", detail::kMaxWriteNameBytes, " allowed)");
  for (const Pending& p : tensors_)
    if (p.info.name == name) fail(where, "duplicate tensor name '", detail::printable(name), "'");
  if (dims.empty() || dims.size() > detail::kMaxDims) fail(where, "tensor '", name, "' has ", dims.size(), " dimensions (1 to 4 allowed)");
  const GgmlTypeInfo* info = ggml_type_info(static_cast<std::uint32_t>(type));
  if (info == nullptr) fail(where, "tensor '", name, "' has unknown ggml type ", static_cast<std::uint32_t>(type));
  std::uint64_t bytes = row_bytes(type, dims[0]);  // checks dims[0] against the block size
  for (std::size_t i = 1; i < dims.size(); ++i) {
    if (dims[i] < 0) fail(where, "tensor '", name, "' has negative dimension ", i, ": ", dims[i]);
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(dims[i]), &bytes)) fail(where, "tensor '", name, "' is too large");
  }
  std::int64_t elements = 1;
  for (std::int64_t d : dims)
    if (__builtin_mul_overflow(elements, d, &elements)) fail(where, "tensor '", name, "' has more elements than int64 can count");
  if (data.size() != bytes) fail(where, "tensor '", name, "' of type ", info->name, " needs ", bytes, " bytes, got ", data.size());
  if (bytes > 0 && data.data() == nullptr) fail(where, "tensor '", name, "' has no data");
  Pending p;
  p.info.name = name;
  p.info.dims = std::move(dims);
  p.info.type = type;
  p.info.bytes = bytes;
  p.data = data;
  tensors_.push_back(std::move(p));
}

void Writer::add_tensor_f32(const std::string& name, std::vector<std::int64_t> dims, GgmlType type, const float* values) {
  if (!has_reference_conversion(type))
    fail("gguf::Writer::add_tensor_f32", "type ", ggml_type_name(type), " has no conversion from f32 here");
  if (dims.empty() || dims.size() > detail::kMaxDims)
    fail("gguf::Writer::add_tensor_f32", "tensor '", name, "' has ", dims.size(), " dimensions (1 to 4 allowed)");
  std::int64_t n = 1;
  for (std::int64_t d : dims)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) fail("gguf::Writer::add_tensor_f32", "tensor '", name, "' has a bad shape");
  (void)row_bytes(type, dims[0]);  // rows must hold whole blocks
  if (n > 0 && values == nullptr) fail("gguf::Writer::add_tensor_f32", "tensor '", name, "' has no data");
  auto owned = std::make_shared<std::vector<std::byte>>(row_bytes(type, n));
  quantize_row(type, values, owned->data(), n);  // whole blocks per row: the tensor is one long row
  add_tensor(name, std::move(dims), type, *owned);
  tensors_.back().owned = std::move(owned);
}

std::vector<std::string_view> Writer::pieces(std::string& header, std::string& padding) const {
  std::uint32_t alignment = detail::kDefaultAlignment;
  bool has_quant_version = false;
  for (const auto& [k, v] : kv_) {
    if (k == detail::kAlignmentKey) alignment = std::get<std::uint32_t>(v);
    if (k == detail::kQuantVersionKey) has_quant_version = true;
  }
  bool quantized = false;
  for (const Pending& p : tensors_) quantized |= ggml_type_traits(p.info.type).block_size > 1;
  // The spec requires general.quantization_version when any tensor is quantized.
  const bool add_quant_version = quantized && !has_quant_version;

  header.clear();
  header.append(detail::kMagic, 4);
  put<std::uint32_t>(header, detail::kWriteVersion);
  put<std::uint64_t>(header, tensors_.size());
  put<std::uint64_t>(header, kv_.size() + (add_quant_version ? 1 : 0));
  for (const auto& [k, v] : kv_) {
    put_string(header, k);
    put<std::uint32_t>(header, static_cast<std::uint32_t>(type_of(v)));
    std::visit([&](const auto& x) { put_scalar(header, x); }, v);
  }
  if (add_quant_version) {
    put_string(header, detail::kQuantVersionKey);
    put<std::uint32_t>(header, static_cast<std::uint32_t>(ValueType::u32));
    put<std::uint32_t>(header, detail::kQuantizationVersion);
  }
  std::uint64_t offset = 0;
  for (const Pending& p : tensors_) {
    put_string(header, p.info.name);
    put<std::uint32_t>(header, static_cast<std::uint32_t>(p.info.dims.size()));
    for (std::int64_t d : p.info.dims) put<std::uint64_t>(header, static_cast<std::uint64_t>(d));
    put<std::uint32_t>(header, static_cast<std::uint32_t>(p.info.type));
    put<std::uint64_t>(header, offset);
    offset += padded(p.info.bytes, alignment);
  }
  padding.assign(alignment, '\0');
  std::vector<std::string_view> out;
  if (!tensors_.empty()) header.append(padded(header.size(), alignment) - header.size(), '\0');
  out.emplace_back(header);
  for (const Pending& p : tensors_) {
    out.emplace_back(reinterpret_cast<const char*>(p.data.data()), p.data.size());
    out.emplace_back(padding.data(), padded(p.info.bytes, alignment) - p.info.bytes);
  }
  return out;
}

std::string Writer::bytes() const {
  std::string header, padding, out;
  for (std::string_view s : pieces(header, padding)) out.append(s);
  return out;
}

void Writer::write(const std::string& path) const {
  std::string header, padding;
  const std::vector<std::string_view> parts = pieces(header, padding);
  write_file_atomically(path, std::span<const std::string_view>(parts));
}

}  // namespace attend::gguf
