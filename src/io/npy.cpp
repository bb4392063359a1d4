// NumPy .npy (format 1.0/2.0/3.0): header "\x93NUMPY", version, header length, then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. Nothing in the header is
// trusted: sizes are checked against the bytes actually present before anything is copied.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "attend/io.h"
#include "core/check.h"
#include "core/element.h"
#include "io/files.h"

namespace attend {

using detail::fail;

namespace {

struct NpyHeader {
  DType dtype = DType::f32;
  std::array<std::int64_t, kMaxRank> shape{};
  int rank = 0;
  std::size_t data_at = 0, data_bytes = 0;
};

constexpr std::size_t kMaxHeader = 10000;  // numpy's own limit (_MAX_HEADER_SIZE) for untrusted files

// The header dict, parsed as numpy's literal_eval + checks read it, restricted to what numpy
// writes: {'descr': <str>, 'fortran_order': True|False, 'shape': (<int>, ...)} with exactly these
// three keys, each once (a duplicate would make numpy take the last value; we refuse it), in any
// order, single or double quotes, optional trailing commas, spaces/tabs/newlines between items.
class DictReader {
 public:
  DictReader(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void read(std::string& descr, std::string& fortran, std::vector<std::int64_t>& shape) {
    skip_ws();
    expect('{');
    bool have_descr = false, have_fortran = false, have_shape = false;
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = quoted("a key");
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (have_descr) bad("has 'descr' twice");
        descr = quoted("the 'descr' value");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) bad("has 'fortran_order' twice");
        fortran = word();
        if (fortran != "True" && fortran != "False") bad("has fortran_order '", fortran, "', not True or False");
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) bad("has 'shape' twice");
        shape = tuple();
        have_shape = true;
      } else {
        bad("has the key '", key, "'; a .npy header has exactly 'descr', 'fortran_order' and 'shape'");
      }
      skip_ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() != '}') bad("is malformed at byte ", i_, " (expected ',' or '}')");
    }
    expect('}');
    skip_ws();
    if (i_ != s_.size()) bad("has text after its dict at byte ", i_);
    if (!have_descr || !have_fortran || !have_shape) bad("lacks '", !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape", "'");
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const { fail("read_npy", "'", name_, "': header ", parts...); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    if (peek() != c) bad("is malformed at byte ", i_, " (expected '", c, "')");
    ++i_;
  }
  std::string quoted(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') bad("has ", what, " that is not a quoted string at byte ", i_);
    const std::size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) bad("has an unterminated string at byte ", i_);
    const std::string_view body = s_.substr(i_ + 1, end - i_ - 1);
    if (body.find_first_of("\\\n\r") != std::string_view::npos) bad("has a string with escapes or line breaks at byte ", i_);
    i_ = end + 1;
    return std::string(body);
  }
  std::string word() {
    const std::size_t b = i_;
    while (i_ < s_.size() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }
  // (), (n,), (n, m), (n, m,): a Python tuple of non-negative decimal integers ("(3)" is an int).
  std::vector<std::int64_t> tuple() {
    std::vector<std::int64_t> out;
    expect('(');
    bool comma = false;
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("has a shape entry that is not a non-negative integer at byte ", i_);
      const std::size_t b = i_;
      std::int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) bad("has an absurd extent at byte ", b);
        v = v * 10 + (s_[i_++] - '0');
      }
      if (s_[b] == '0' && i_ - b > 1) bad("has an extent with a leading zero at byte ", b);
      out.push_back(v);
      skip_ws();
      comma = peek() == ',';
      if (comma) ++i_;
      else if (peek() != ')') bad("has a malformed shape at byte ", i_, " (extents must be separated by commas)");
    }
    if (out.size() == 1 && !comma) bad("has the shape (", out[0], "), which is an integer, not a tuple");
    expect(')');
    return out;
  }

  std::string_view s_;
  const std::string& name_;
  std::size_t i_ = 0;
};

// Parses the header at the start of `bytes` (which need only hold the header).
NpyHeader parse_npy_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6))
    fail("read_npy", "'", name, "' is not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  std::size_t header_len, header_at;
  if (minor != 0) fail("read_npy", "'", name, "' has unsupported .npy version ", static_cast<int>(major), ".", static_cast<int>(minor));
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
  if (header_len > kMaxHeader) fail("read_npy", "'", name, "' has a header of ", header_len, " bytes (numpy's limit is ", kMaxHeader, ")");
  if (header_len > bytes.size() - header_at) fail("read_npy", "'", name, "' is truncated in its header");
  const std::string_view header = bytes.substr(header_at, header_len);
  std::string descr, fortran;
  std::vector<std::int64_t> dims;
  DictReader(header, name).read(descr, fortran, dims);
  DType dtype;
  static_assert(std::endian::native == std::endian::little, "'=' and '<' name the same byte order here");
  if (descr == "<f4" || descr == "=f4") dtype = DType::f32;
  else if (descr == "<f2" || descr == "=f2") dtype = DType::f16;
  else fail("read_npy", "'", name, "' has dtype '", descr, "'; attend reads float32 ('<f4') and float16 ('<f2')");
  if (fortran != "False") fail("read_npy", "'", name, "' is in Fortran order; save it in C order");
  if (dims.size() > static_cast<std::size_t>(kMaxRank)) fail("read_npy", "'", name, "' has rank ", dims.size(), " > ", kMaxRank);
  std::array<std::int64_t, kMaxRank> shape{};
  std::int64_t count = 1;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const std::int64_t v = dims[d];
    if (v != 0 && count > std::numeric_limits<std::int64_t>::max() / 8 / v) fail("read_npy", "'", name, "' has a shape whose size overflows");
    shape[d] = v;
    count *= v;
  }
  NpyHeader h;
  h.dtype = dtype;
  h.shape = shape;
  h.rank = static_cast<int>(dims.size());
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
  std::uint64_t size = 0;
  const int fd = io::open_regular_file(path, "read_npy", size);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxHeader + 12)), '\0');
  if (!io::read_at(fd, 0, head.data(), head.size())) fail("read_npy", "cannot read '", path, "'");
  const NpyHeader h = parse_npy_header(head, path);
  check_data_size(h, static_cast<std::size_t>(size) - h.data_at, path);
  Tensor t(h.dtype, h.shape, h.rank);
  if (!io::read_at(fd, h.data_at, t.data(), h.data_bytes)) fail("read_npy", "cannot read the data of '", path, "'");
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
