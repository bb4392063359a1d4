// NumPy .npy (format 1.0/2.0/3.0): header "\x93NUMPY", version, header length, then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. Nothing in the header is
// trusted: sizes are checked against the bytes actually present before anything is copied.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "attend/io.h"
#include "core/check.h"
#include "core/element.h"

namespace attend {

using detail::fail;

namespace {

std::string dict_value(std::string_view header, std::string_view key, const std::string& name) {
  std::string quoted(1, '\'');  // built piecewise: GCC 12 -Wrestrict misfires on "'" + string
  quoted += key;
  quoted += '\'';
  const std::size_t at = header.find(quoted);
  if (at == std::string_view::npos) fail("read_npy", "'", name, "': header has no ", quoted);
  std::size_t i = header.find(':', at + quoted.size());
  if (i == std::string_view::npos) fail("read_npy", "'", name, "': header is malformed near ", quoted);
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  if (i >= header.size()) fail("read_npy", "'", name, "': header ends after ", quoted);
  const char open = header[i];
  std::size_t end;
  if (open == '\'') end = header.find('\'', i + 1) + 1;
  else if (open == '(') end = header.find(')', i) + 1;
  else end = header.find_first_of(",}", i);
  if (end == std::string_view::npos || end == 0 || end <= i) fail("read_npy", "'", name, "': header value of ", quoted, " is malformed");
  return std::string(header.substr(i, end - i));
}

}  // namespace

namespace {

struct NpyHeader {
  DType dtype = DType::f32;
  std::array<std::int64_t, kMaxRank> shape{};
  int rank = 0;
  std::size_t data_at = 0, data_bytes = 0;
};

// Parses the header at the start of `bytes` (which need only hold the header).
NpyHeader parse_npy_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6))
    fail("read_npy", "'", name, "' is not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len, header_at;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("read_npy", "'", name, "' is truncated in its header");
    header_len = 0;
    for (int b = 0; b < 4; ++b) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
    header_at = 12;
  } else {
    fail("read_npy", "'", name, "' has unsupported .npy version ", static_cast<int>(major));
  }
  if (header_len > bytes.size() - header_at) fail("read_npy", "'", name, "' is truncated in its header");
  const std::string_view header = bytes.substr(header_at, header_len);
  const std::string descr = dict_value(header, "descr", name);
  const std::string fortran = dict_value(header, "fortran_order", name);
  const std::string shape_s = dict_value(header, "shape", name);
  DType dtype;
  if (descr == "'<f4'" || descr == "'=f4'") dtype = DType::f32;
  else if (descr == "'<f2'" || descr == "'=f2'") dtype = DType::f16;
  else fail("read_npy", "'", name, "' has dtype ", descr, "; attend reads float32 ('<f4') and float16 ('<f2')");
  if (fortran != "False") fail("read_npy", "'", name, "' is in Fortran order; save it in C order");
  if (shape_s.size() < 2 || shape_s.front() != '(' || shape_s.back() != ')') fail("read_npy", "'", name, "' has a malformed shape ", shape_s);
  std::array<std::int64_t, kMaxRank> shape{};
  int rank = 0;
  std::int64_t count = 1;
  std::size_t i = 1;
  while (i < shape_s.size() - 1) {
    while (i < shape_s.size() - 1 && (shape_s[i] == ' ' || shape_s[i] == ',')) ++i;
    if (i >= shape_s.size() - 1) break;
    std::int64_t v = 0;
    bool any = false;
    while (i < shape_s.size() - 1 && shape_s[i] >= '0' && shape_s[i] <= '9') {
      if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("read_npy", "'", name, "' has an absurd extent in ", shape_s);
      v = v * 10 + (shape_s[i++] - '0');
      any = true;
    }
    if (!any) fail("read_npy", "'", name, "' has a malformed shape ", shape_s);
    while (i < shape_s.size() - 1 && shape_s[i] == ' ') ++i;
    if (i < shape_s.size() - 1 && shape_s[i] != ',') fail("read_npy", "'", name, "' has a malformed shape ", shape_s, " (extents must be separated by commas)");
    if (rank == kMaxRank) fail("read_npy", "'", name, "' has rank > ", kMaxRank, ": ", shape_s);
    if (v != 0 && count > std::numeric_limits<std::int64_t>::max() / 8 / v) fail("read_npy", "'", name, "' has a shape whose size overflows: ", shape_s);
    shape[static_cast<std::size_t>(rank++)] = v;
    count *= v;
  }
  NpyHeader h;
  h.dtype = dtype;
  h.shape = shape;
  h.rank = rank;
  h.data_at = header_at + header_len;
  h.data_bytes = static_cast<std::size_t>(count) * dtype_size(dtype);
  return h;
}

void check_data_size(const NpyHeader& h, std::size_t have, const std::string& name) {
  if (have < h.data_bytes)
    fail("read_npy", "'", name, "' is truncated: its shape needs ", h.data_bytes, " bytes of data, the file has ", have);
  if (have > h.data_bytes) fail("read_npy", "'", name, "' has ", have - h.data_bytes, " unexpected bytes after its data");
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& name) {
  const NpyHeader h = parse_npy_header(bytes, name);
  check_data_size(h, bytes.size() - h.data_at, name);
  Tensor t(h.dtype, h.shape, h.rank);
  if (h.data_bytes) std::memcpy(t.data(), bytes.data() + h.data_at, h.data_bytes);
  return t;
}

// Reads the header, then the data straight into the tensor (no second copy of a large file).
Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("read_npy", "cannot open '", path, "': ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  in.seekg(0);
  std::string head(std::min<std::size_t>(size, 65536 + 12), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const NpyHeader h = parse_npy_header(head, path);
  check_data_size(h, size - h.data_at, path);
  Tensor t(h.dtype, h.shape, h.rank);
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.data_at));
  in.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(h.data_bytes));
  if (static_cast<std::size_t>(in.gcount()) != h.data_bytes) fail("read_npy", "cannot read the data of '", path, "'");
  return t;
}

namespace {

std::string npy_header(const TensorView& t) {
  if (t.dtype == DType::bf16) fail("write_npy", "bf16 has no NumPy dtype; convert to f32 first");
  std::string shape = "(";
  for (int i = 0; i < t.rank; ++i) shape += std::to_string(t.dim(i)) + (t.rank == 1 || i + 1 < t.rank ? "," : "");
  shape += ")";
  std::string header = "{'descr': '";
  header += t.dtype == DType::f32 ? "<f4" : "<f2";
  header += "', 'fortran_order': False, 'shape': ";
  header += shape;
  header += ", }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  return out;
}

}  // namespace

std::string npy_bytes(const TensorView& t) {
  std::string out = npy_header(t);
  const std::size_t esz = dtype_size(t.dtype);
  const std::size_t header_size = out.size();
  out.resize(header_size + static_cast<std::size_t>(t.numel()) * esz);
  char* dst = out.data() + header_size;
  std::array<std::int64_t, kMaxRank> idx{};
  for (std::int64_t n = 0; n < t.numel(); ++n) {
    std::int64_t off = 0;
    for (int i = 0; i < t.rank; ++i) off += idx[static_cast<std::size_t>(i)] * t.step(i);
    std::memcpy(dst, static_cast<const char*>(t.data) + off * static_cast<std::int64_t>(esz), esz);
    dst += esz;
    for (int i = t.rank - 1; i >= 0; --i) {
      if (++idx[static_cast<std::size_t>(i)] < t.dim(i)) break;
      idx[static_cast<std::size_t>(i)] = 0;
    }
  }
  return out;
}

void write_npy(const std::string& path, const TensorView& t) {
  if (t.is_contiguous() && t.dtype != DType::bf16) {  // large arrays: header and data written in place, no copy
    const std::string header = npy_header(t);
    write_file_atomically(path, {header, std::string_view(static_cast<const char*>(t.data), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype))});
    return;
  }
  write_file_atomically(path, npy_bytes(t));
}

}  // namespace attend
