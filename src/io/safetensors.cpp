// safetensors reader (validating) and writer (atomic).
#include "attend/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>

#include "attend/dtype.h"
#include "attend/io.h"
#include "core/check.h"
#include "io/json_limits.h"

namespace attend {
namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // 100 MB, as the reference implementation
constexpr int kMaxDepth = 3;
constexpr const char* kWhere = "read_safetensors";

struct Entry {
  std::string name;
  DType dtype;
  std::uint64_t begin, end;
};

std::uint64_t read_u64_le(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

namespace {

// bytes: [8 | header | data]
SafetensorsFile parse(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 8) detail::fail(kWhere, name, ": ", bytes.size(), " bytes is too short for a header length");
  const std::uint64_t hlen = read_u64_le(bytes.data());
  if (hlen < 2 || hlen > kMaxHeader || hlen > bytes.size() - 8)
    detail::fail(kWhere, name, ": header length ", hlen, " does not fit the file of ", bytes.size(), " bytes");
  const std::string_view header = bytes.substr(8, hlen);
  const std::string_view data = bytes.substr(8 + hlen);
  // {name: {dtype, shape: [..], data_offsets: [..]}, __metadata__: {key: str}}: three levels.
  const nlohmann::json j = io::parse_json_bounded(header, kMaxDepth, kWhere, name, "header");
  if (!j.is_object()) detail::fail(kWhere, name, ": header is not a JSON object");
  SafetensorsFile out;
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
    const std::string dt = v["dtype"].get<std::string>();
    DType dtype;
    if (dt == "F32") dtype = DType::f32;
    else if (dt == "F16") dtype = DType::f16;
    else if (dt == "BF16") dtype = DType::bf16;
    else detail::fail(kWhere, name, ": tensor '", key, "' has unsupported dtype '", dt, "' (F32, F16, BF16)");
    if (!v.contains("shape") || !v["shape"].is_array() || v["shape"].size() > 8)
      detail::fail(kWhere, name, ": tensor '", key, "' has no shape array of rank <= 8");
    SafeTensor t;
    t.dtype = dt;
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
    if (b > e || e > data.size())
      detail::fail(kWhere, name, ": tensor '", key, "' offsets [", b, ", ", e, "] fall outside the data section of ", data.size(), " bytes");
    if (e - b != numel * dtype_size(dtype))
      detail::fail(kWhere, name, ": tensor '", key, "' has ", e - b, " bytes but shape and dtype need ", numel * dtype_size(dtype));
    entries.push_back({key, dtype, b, e});
    out.tensors[key] = std::move(t);
  }
  // The tensors must tile the data section exactly: no overlaps, no holes.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::uint64_t pos = 0;
  for (const Entry& en : entries) {
    if (en.begin != pos) detail::fail(kWhere, name, ": tensor '", en.name, "' starts at ", en.begin, ", expected ", pos, " (overlap or hole)");
    pos = en.end;
  }
  if (pos != data.size()) detail::fail(kWhere, name, ": data section has ", data.size() - pos, " trailing bytes");
  for (const Entry& en : entries) {
    SafeTensor& t = out.tensors[en.name];
    const std::size_t n = static_cast<std::size_t>((en.end - en.begin) / dtype_size(en.dtype));
    t.values.resize(n);
    if (n == 0) continue;  // empty tensor: memcpy with a null pointer is undefined behaviour (UBSan)
    if (en.dtype == DType::f32) std::memcpy(t.values.data(), data.data() + en.begin, n * sizeof(float));
    else {
      std::vector<std::uint16_t> tmp(n);
      std::memcpy(tmp.data(), data.data() + en.begin, n * 2);
      convert_to_f32(tmp.data(), en.dtype, t.values.data(), n);
    }
  }
  return out;
}

}  // namespace

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
