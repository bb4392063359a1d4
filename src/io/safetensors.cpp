// safetensors reader (validating) and writer (atomic).
#include "attend/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "attend/dtype.h"
#include "attend/io.h"
#include "core/check.h"

namespace attend {
namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // 100 MB, as the reference implementation
constexpr const char* kWhere = "read_safetensors";

struct Entry {
  std::string name;
  std::uint64_t begin, end;
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

}  // namespace

// bytes: [8 | header | data]
SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 8) detail::fail(kWhere, name, ": ", bytes.size(), " bytes is too short for a header length");
  const std::uint64_t hlen = read_u64_le(bytes.data());
  if (hlen < 2 || hlen > kMaxHeader || hlen > bytes.size() - 8)
    detail::fail(kWhere, name, ": header length ", hlen, " does not fit the file of ", bytes.size(), " bytes");
  const std::string_view header = bytes.substr(8, hlen);
  const std::uint64_t data_size = bytes.size() - 8 - hlen;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    detail::fail(kWhere, name, ": header is not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) detail::fail(kWhere, name, ": header is not a JSON object");
  SafetensorsHeader out;
  out.data_offset = 8 + hlen;
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) detail::fail(kWhere, name, ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) detail::fail(kWhere, name, ": metadata '", m.key(), "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (key.empty() || key.size() > 1024) detail::fail(kWhere, name, ": tensor name of ", key.size(), " characters");
    if (!v.is_object()) detail::fail(kWhere, name, ": tensor '", key, "' is not an object");
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
        detail::fail(kWhere, name, ": tensor '", key, "' has unknown field '", f.key(), "'");
    if (!v.contains("dtype") || !v["dtype"].is_string()) detail::fail(kWhere, name, ": tensor '", key, "' has no dtype string");
    SafeTensorEntry t;
    t.dtype = v["dtype"].get<std::string>();
    const std::uint64_t esize = element_bytes(t.dtype);
    if (esize == 0) detail::fail(kWhere, name, ": tensor '", key, "' has unknown dtype '", t.dtype, "'");
    if (!v.contains("shape") || !v["shape"].is_array() || v["shape"].size() > 8)
      detail::fail(kWhere, name, ": tensor '", key, "' has no shape array of rank <= 8");
    std::uint64_t numel = 1;
    for (const auto& s : v["shape"]) {
      if (!s.is_number_unsigned()) detail::fail(kWhere, name, ": tensor '", key, "' has a shape entry that is not a non-negative integer");
      const std::uint64_t e = s.get<std::uint64_t>();
      if (e > (1ull << 40) || (e > 0 && numel > (1ull << 40) / e)) detail::fail(kWhere, name, ": tensor '", key, "' shape is too large");
      numel *= e;
      t.shape.push_back(static_cast<std::int64_t>(e));
    }
    const auto& off = v.contains("data_offsets") ? v["data_offsets"] : nlohmann::json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      detail::fail(kWhere, name, ": tensor '", key, "' needs data_offsets [begin, end] of non-negative integers");
    const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
    if (b > e || e > data_size)
      detail::fail(kWhere, name, ": tensor '", key, "' offsets [", b, ", ", e, "] fall outside the data section of ", data_size, " bytes");
    if (e - b != numel * esize)
      detail::fail(kWhere, name, ": tensor '", key, "' has ", e - b, " bytes but shape and dtype need ", numel * esize);
    t.begin = b;
    t.end = e;
    entries.push_back({key, b, e});
    out.tensors[key] = std::move(t);
  }
  // The tensors must tile the data section exactly: no overlaps, no holes.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::uint64_t pos = 0;
  for (const Entry& en : entries) {
    if (en.begin != pos) detail::fail(kWhere, name, ": tensor '", en.name, "' starts at ", en.begin, ", expected ", pos, " (overlap or hole)");
    pos = en.end;
  }
  if (pos != data_size) detail::fail(kWhere, name, ": data section has ", data_size - pos, " trailing bytes");
  return out;
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name) {
  SafetensorsHeader h = parse_safetensors_header(bytes, name);
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
