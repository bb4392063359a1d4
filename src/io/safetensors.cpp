// safetensors reader (validating) and writer (atomic).
#include "attend/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <nlohmann/json.hpp>

#include "attend/dtype.h"
#include "attend/io.h"
#include "core/check.h"

namespace attend {
namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // 100 MB, as the reference implementation
constexpr std::uint64_t kFreeBudget = 16u << 20;  // memory any header may cost, beyond 2x the file
constexpr const char* kWhere = "read_safetensors";

struct Entry {
  std::string name;
  std::string dtype_name;
  std::uint64_t element_bytes = 0;
  std::vector<std::int64_t> shape;
  std::uint64_t numel = 1, begin = 0, end = 0;
  int fields = 0;  // bits: 1 dtype, 2 shape, 4 data_offsets
  std::vector<std::uint64_t> offsets;
};

std::uint64_t read_u64_le(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Bytes per element of every safetensors dtype (0: not a safetensors dtype).
std::uint64_t element_bytes(const std::string& dt) {
  static const std::pair<const char*, std::uint64_t> kSizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [n, b] : kSizes)
    if (dt == n) return b;
  return 0;
}

// Reads the header with nlohmann's SAX interface straight into entries, never building a JSON
// tree: {name: {dtype, shape: [..], data_offsets: [b, e]}, __metadata__: {key: string}}. Work
// and memory are bounded by the file: nesting deeper than the format's 3 levels is refused as the
// parser reaches it, and what the entries cost is counted against 16 MiB + 2x the file size (a
// 98 MB header of 49 million '[' used to cost 3.6 GB; one of a million empty tensors ~0.9 GB).
class HeaderReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  HeaderReader(const std::string& name, std::uint64_t data_size, std::uint64_t budget)
      : name_(name), data_size_(data_size), budget_(budget) {}
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t) override { return scalar("a negative integer"); }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth_ == 3 && in_shape_) {
      Entry& e = entries.back();
      if (e.shape.size() == 8) bad("tensor '", e.name, "' has no shape array of rank <= 8");
      if (v > (1ull << 40) || (v > 0 && e.numel > (1ull << 40) / v)) bad("tensor '", e.name, "' shape is too large");
      e.numel *= v;
      e.shape.push_back(static_cast<std::int64_t>(v));
      return spend(8);
    }
    if (depth_ == 3 && in_offsets_) {
      Entry& e = entries.back();
      if (e.offsets.size() == 2) bad("tensor '", e.name, "' needs data_offsets [begin, end] of non-negative integers");
      e.offsets.push_back(v);
      return true;
    }
    return scalar("a number");
  }
  bool number_float(number_float_t, const string_t&) override { return scalar("a fractional number"); }
  bool string(string_t& v) override {
    if (depth_ == 2 && meta_) {
      spend(v.size() + key_.size() + 96);
      if (!metadata.try_emplace(key_, std::move(v)).second) bad("metadata key '", key_, "' appears twice");
      return true;
    }
    if (depth_ == 2 && field_ == 1) {
      Entry& e = entries.back();
      e.element_bytes = element_bytes(v);
      if (e.element_bytes == 0) bad("tensor '", e.name, "' has unknown dtype '", v, "'");
      e.dtype_name = std::move(v);
      return true;
    }
    return scalar("a string");
  }
  bool binary(binary_t&) override { return scalar("binary"); }
  bool key(string_t& k) override {
    if (depth_ == 1) {  // a tensor name or __metadata__
      key_ = std::move(k);
      return true;
    }
    if (depth_ == 2 && meta_) {
      key_ = std::move(k);
      return true;
    }
    Entry& e = entries.back();  // depth 2: a tensor's field
    const int bit = k == "dtype" ? 1 : k == "shape" ? 2 : k == "data_offsets" ? 4 : 0;
    if (bit == 0) bad("tensor '", e.name, "' has unknown field '", k, "'");
    if (e.fields & bit) bad("tensor '", e.name, "' has field '", k, "' twice");
    e.fields |= bit;
    field_ = bit;
    return true;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0) return ++depth_, true;
    if (depth_ == 1) {
      if (key_ == "__metadata__") {
        if (seen_meta_) bad("__metadata__ appears twice");
        seen_meta_ = meta_ = true;
      } else {
        if (key_.empty() || key_.size() > 1024) bad("tensor name of ", key_.size(), " characters");
        spend(sizeof(Entry) + key_.size() + 64);
        entries.emplace_back();
        entries.back().name = std::move(key_);
      }
      return ++depth_, true;
    }
    if (depth_ == 2) return scalar("an object");
    return too_deep();
  }
  bool end_object() override {
    if (depth_ == 2 && !meta_) finish(entries.back());
    meta_ = false;
    field_ = 0;
    return --depth_, true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) bad("header is not a JSON object");
    if (depth_ == 1) bad(key_ == "__metadata__" ? "__metadata__ is not an object" : "tensor '" + key_ + "' is not an object");
    if (depth_ == 2 && meta_) bad("metadata '", key_, "' is not a string");
    if (depth_ == 2 && field_ == 2) in_shape_ = true;
    else if (depth_ == 2 && field_ == 4) in_offsets_ = true;
    else if (depth_ == 2) bad("tensor '", entries.back().name, "' has no dtype string");
    else return too_deep();
    return ++depth_, true;
  }
  bool end_array() override {
    in_shape_ = in_offsets_ = false;
    return --depth_, true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    bad("header is not valid JSON (", ex.what(), ")");
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const { detail::fail(kWhere, name_, ": ", parts...); }
  bool too_deep() const { bad("header nests deeper than 3 levels"); }
  bool spend(std::uint64_t bytes) {
    used_ += bytes;
    if (used_ > budget_)
      bad("header describes more than a file of its size can hold (", entries.size(), " tensors, ", metadata.size(),
          " metadata entries)");
    return true;
  }
  // A scalar where the format has none (or the wrong kind).
  bool scalar(const char* what) {
    if (depth_ == 0) bad("header is not a JSON object");
    if (depth_ == 1) bad(key_ == "__metadata__" ? "__metadata__ is not an object" : "tensor '" + key_ + "' is not an object");
    if (depth_ == 2 && meta_) bad("metadata '", key_, "' is not a string");
    const Entry& e = entries.back();
    if (in_shape_) bad("tensor '", e.name, "' has a shape entry that is not a non-negative integer");
    if (in_offsets_ || field_ == 4) bad("tensor '", e.name, "' needs data_offsets [begin, end] of non-negative integers");
    if (field_ == 2) bad("tensor '", e.name, "' has no shape array of rank <= 8");
    bad("tensor '", e.name, "' has no dtype string (got ", what, ")");
  }
  void finish(Entry& e) const {
    if (!(e.fields & 1)) bad("tensor '", e.name, "' has no dtype string");
    if (!(e.fields & 2)) bad("tensor '", e.name, "' has no shape array of rank <= 8");
    if (!(e.fields & 4) || e.offsets.size() != 2) bad("tensor '", e.name, "' needs data_offsets [begin, end] of non-negative integers");
    e.begin = e.offsets[0];
    e.end = e.offsets[1];
    e.offsets = {};
    if (e.begin > e.end || e.end > data_size_)
      bad("tensor '", e.name, "' offsets [", e.begin, ", ", e.end, "] fall outside the data section of ", data_size_, " bytes");
    if (e.end - e.begin != e.numel * e.element_bytes)
      bad("tensor '", e.name, "' has ", e.end - e.begin, " bytes but shape and dtype need ", e.numel * e.element_bytes);
  }

  const std::string& name_;
  std::uint64_t data_size_, budget_, used_ = 0;
  int depth_ = 0, field_ = 0;
  bool meta_ = false, seen_meta_ = false, in_shape_ = false, in_offsets_ = false;
  std::string key_;
};

// bytes: [8 | header | data]. Every dtype of the format is accepted here (see the header file).
SafetensorsHeader parse_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 8) detail::fail(kWhere, name, ": ", bytes.size(), " bytes is too short for a header length");
  const std::uint64_t hlen = read_u64_le(bytes.data());
  if (hlen < 2 || hlen > kMaxHeader || hlen > bytes.size() - 8)
    detail::fail(kWhere, name, ": header length ", hlen, " does not fit the file of ", bytes.size(), " bytes");
  const std::string_view header = bytes.substr(8, hlen);
  const std::uint64_t data_size = bytes.size() - 8 - hlen;
  HeaderReader reader(name, data_size, kFreeBudget + 2 * static_cast<std::uint64_t>(bytes.size()));
  nlohmann::json::sax_parse(header, &reader);
  std::vector<Entry>& entries = reader.entries;
  SafetensorsHeader out;
  out.data_offset = 8 + hlen;
  out.metadata = std::move(reader.metadata);
  // The tensors must tile the data section exactly: no overlaps, no holes.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::uint64_t pos = 0;
  for (const Entry& en : entries) {
    if (en.begin != pos) detail::fail(kWhere, name, ": tensor '", en.name, "' starts at ", en.begin, ", expected ", pos, " (overlap or hole)");
    pos = en.end;
  }
  if (pos != data_size) detail::fail(kWhere, name, ": data section has ", data_size - pos, " trailing bytes");
  for (Entry& en : entries) {
    SafeTensorEntry t{std::move(en.dtype_name), std::move(en.shape), en.begin, en.end};
    if (!out.tensors.emplace(en.name, std::move(t)).second) detail::fail(kWhere, name, ": tensor '", en.name, "' appears twice");
  }
  return out;
}

SafetensorsFile parse(std::string_view bytes, const std::string& name) {
  SafetensorsHeader h = parse_header(bytes, name);
  const std::string_view data = bytes.substr(h.data_offset);
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  for (auto& [key, en] : h.tensors) {
    DType dtype;
    if (en.dtype == "F32") dtype = DType::f32;
    else if (en.dtype == "F16") dtype = DType::f16;
    else if (en.dtype == "BF16") dtype = DType::bf16;
    else detail::fail(kWhere, name, ": tensor '", key, "' has unsupported dtype '", en.dtype, "' (F32, F16, BF16)");
    SafeTensor& t = out.tensors[key];
    t.dtype = en.dtype;
    t.shape = en.shape;
    const std::size_t n = static_cast<std::size_t>((en.end - en.begin) / dtype_size(dtype));
    t.values.resize(n);
    if (n == 0) continue;  // empty tensor: memcpy with a null pointer is undefined behaviour (UBSan)
    if (dtype == DType::f32) std::memcpy(t.values.data(), data.data() + en.begin, n * sizeof(float));
    else {
      std::vector<std::uint16_t> tmp(n);
      std::memcpy(tmp.data(), data.data() + en.begin, n * 2);
      convert_to_f32(tmp.data(), dtype, t.values.data(), n);
    }
  }
  return out;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& name) {
  try {
    return parse_header(bytes, name);
  } catch (const std::bad_alloc&) {
    detail::fail(kWhere, name, ": not enough memory to read the header of a file of ", bytes.size(), " bytes");
  }
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name) {
  try {
    return parse(bytes, name);
  } catch (const std::bad_alloc&) {
    detail::fail(kWhere, name, ": not enough memory to hold the tensors of a file of ", bytes.size(), " bytes");
  }
}

SafetensorsFile read_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

std::string safetensors_bytes(const std::vector<SafeTensorRef>& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::json h = nlohmann::json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::uint64_t pos = 0;
  for (const SafeTensorRef& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || h.contains(t.name))
      detail::fail("write_safetensors", "bad or duplicate tensor name '", t.name, "'");
    std::uint64_t n = 1;
    for (std::int64_t s : t.shape) {
      if (s < 0) detail::fail("write_safetensors", "tensor '", t.name, "' has negative extent ", s);
      n *= static_cast<std::uint64_t>(s);
    }
    h[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {pos, pos + 4 * n}}};
    pos += 4 * n;
  }
  std::string header = h.dump();
  while ((8 + header.size()) % 8 != 0) header.push_back(' ');  // align the data section to 8 bytes
  std::string out(8, '\0');
  const std::uint64_t hl = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((hl >> (8 * i)) & 0xff);
  out += header;
  out.reserve(out.size() + pos);
  for (const SafeTensorRef& t : tensors) {
    std::size_t n = 1;
    for (std::int64_t s : t.shape) n *= static_cast<std::size_t>(s);
    out.append(reinterpret_cast<const char*>(t.data), n * sizeof(float));
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, safetensors_bytes(tensors, metadata));
}

}  // namespace attend
