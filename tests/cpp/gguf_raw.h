#pragma once
// GGUF bytes assembled field by field from the format's specification (docs/gguf.md in ggml),
// independently of attend's writer: the tests use it for hand-made and hostile files.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace attend::gguf_raw {

inline void u8(std::string& o, std::uint8_t v) { o.push_back(static_cast<char>(v)); }
inline void u32(std::string& o, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void u64(std::string& o, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void str(std::string& o, std::string_view s) {
  u64(o, s.size());
  o.append(s);
}
// A key with a uint32 value (type 4) / a string value (type 8).
inline void kv_u32(std::string& o, std::string_view key, std::uint32_t v) {
  str(o, key);
  u32(o, 4);
  u32(o, v);
}
inline void kv_str(std::string& o, std::string_view key, std::string_view v) {
  str(o, key);
  u32(o, 8);
  str(o, v);
}
inline void tensor_info(std::string& o, std::string_view name, const std::vector<std::uint64_t>& dims, std::uint32_t type,
                        std::uint64_t offset) {
  str(o, name);
  u32(o, static_cast<std::uint32_t>(dims.size()));
  for (std::uint64_t d : dims) u64(o, d);
  u32(o, type);
  u64(o, offset);
}
// magic, version, counts, then kvs and infos; then zero padding to `alignment` and `data`.
inline std::string file(std::uint32_t version, std::uint64_t n_tensors, std::uint64_t n_kv, const std::string& kvs,
                        const std::string& infos, const std::string& data = "", std::uint64_t alignment = 32) {
  std::string o = "GGUF";
  u32(o, version);
  u64(o, n_tensors);
  u64(o, n_kv);
  o += kvs;
  o += infos;
  if (n_tensors > 0) o.append((alignment - o.size() % alignment) % alignment, '\0');
  o += data;
  return o;
}

}  // namespace attend::gguf_raw
