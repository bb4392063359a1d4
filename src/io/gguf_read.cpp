// The GGUF reader: maps the file, then parses the header, metadata and tensor infos through a
// bounds-checked cursor. Nothing from the file is trusted: every count, length, offset and size
// is checked against the bytes that remain before it is used or allocated.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

#include "io/gguf_format.h"

namespace attend::gguf {

using detail::bad;
using detail::printable;

struct File::Storage {
  const std::byte* data = nullptr;
  std::uint64_t size = 0;
  void* map = nullptr;  // munmap'ed with the last File that shares it
  std::string owned;    // from_bytes
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map != nullptr) ::munmap(map, static_cast<std::size_t>(size));
  }
};

namespace {

// Reads little-endian fields from [data, data + size), failing with the field's name and offset.
class Cursor {
 public:
  Cursor(const std::byte* data, std::uint64_t size, const std::string& file) : p_(data), size_(size), file_(file) {}
  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return size_ - pos_; }
  const std::byte* here() const { return p_ + pos_; }

  // `what` names the field, `of` (may be empty) what it belongs to: "length", "key 'x'".
  void need(std::uint64_t n, const char* what, std::string_view of) const {
    if (n > left())
      bad(file_, "truncated: ", what, of.empty() ? "" : " of ", of, " at byte ", pos_, " needs ", n, " bytes, but only ", left(),
          " remain");
  }
  template <typename T>
  T read(const char* what, std::string_view of = {}) {
    need(sizeof(T), what, of);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void skip(std::uint64_t n) { pos_ += n; }
  std::string read_string(const char* what, std::string_view of, std::uint64_t max_len) {
    const auto len = read<std::uint64_t>(what, of);
    if (len > max_len)
      bad(file_, what, of.empty() ? "" : " of ", of, " at byte ", pos_ - 8, " is ", len, " bytes long (at most ", max_len, " allowed)");
    need(len, what, of);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<std::size_t>(len));
    pos_ += len;
    return s;
  }
  const std::string& file() const { return file_; }

 private:
  const std::byte* p_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  const std::string& file_;
};

ValueType read_type(Cursor& c, const char* what, std::string_view of) {
  const auto t = c.read<std::uint32_t>(what, of);
  if (t > static_cast<std::uint32_t>(ValueType::f64)) bad(c.file(), what, " of ", of, " is ", t, ", not a GGUF value type (0..12)");
  return static_cast<ValueType>(t);
}

template <typename T>
std::vector<T> read_plain(Cursor& c, std::uint64_t n) {  // n already checked against the bytes left
  std::vector<T> v(static_cast<std::size_t>(n));
  if (n > 0) std::memcpy(v.data(), c.here(), static_cast<std::size_t>(n) * sizeof(T));
  c.skip(n * sizeof(T));
  return v;
}

// `key` below is the printable key in quotes, as error messages show it.
bool read_bool(Cursor& c, const std::string& key) {
  const auto b = c.read<std::uint8_t>("bool", key);
  if (b > 1) bad(c.file(), "key ", key, " holds bool byte ", static_cast<int>(b), " at byte ", c.pos() - 1, " (must be 0 or 1)");
  return b == 1;
}

Array read_array(Cursor& c, const std::string& key, int depth);

Value read_value(Cursor& c, ValueType t, const std::string& key, int depth) {
  const char* what = "value";
  switch (t) {
    case ValueType::u8: return c.read<std::uint8_t>(what, key);
    case ValueType::i8: return c.read<std::int8_t>(what, key);
    case ValueType::u16: return c.read<std::uint16_t>(what, key);
    case ValueType::i16: return c.read<std::int16_t>(what, key);
    case ValueType::u32: return c.read<std::uint32_t>(what, key);
    case ValueType::i32: return c.read<std::int32_t>(what, key);
    case ValueType::f32: return c.read<float>(what, key);
    case ValueType::boolean: return read_bool(c, key);
    case ValueType::string: return c.read_string("string value", key, c.left());
    case ValueType::array: return read_array(c, key, depth + 1);
    case ValueType::u64: return c.read<std::uint64_t>(what, key);
    case ValueType::i64: return c.read<std::int64_t>(what, key);
    case ValueType::f64: return c.read<double>(what, key);
  }
  bad(c.file(), "value type ", static_cast<std::uint32_t>(t), " of ", key);  // read_type admits no other
}

Array read_array(Cursor& c, const std::string& key, int depth) {
  if (depth > detail::kMaxArrayDepth)
    bad(c.file(), "key ", key, " nests arrays deeper than ", detail::kMaxArrayDepth, " levels");
  const ValueType et = read_type(c, "array element type", key);
  const auto n = c.read<std::uint64_t>("array length", key);
  // Each element takes at least min_value_bytes in the file: this bounds every allocation below.
  if (n > c.left() / detail::min_value_bytes(et))
    bad(c.file(), "key ", key, " declares an array of ", n, " ", value_type_name(et), " elements at byte ", c.pos() - 8,
        ", but only ", c.left(), " bytes remain");
  Array a;
  switch (et) {
    case ValueType::u8: a.items = read_plain<std::uint8_t>(c, n); break;
    case ValueType::i8: a.items = read_plain<std::int8_t>(c, n); break;
    case ValueType::u16: a.items = read_plain<std::uint16_t>(c, n); break;
    case ValueType::i16: a.items = read_plain<std::int16_t>(c, n); break;
    case ValueType::u32: a.items = read_plain<std::uint32_t>(c, n); break;
    case ValueType::i32: a.items = read_plain<std::int32_t>(c, n); break;
    case ValueType::f32: a.items = read_plain<float>(c, n); break;
    case ValueType::u64: a.items = read_plain<std::uint64_t>(c, n); break;
    case ValueType::i64: a.items = read_plain<std::int64_t>(c, n); break;
    case ValueType::f64: a.items = read_plain<double>(c, n); break;
    case ValueType::boolean: {
      std::vector<bool> v(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = read_bool(c, key);
      a.items = std::move(v);
      break;
    }
    case ValueType::string: {
      std::vector<std::string> v;
      v.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(c.read_string("string element", key, c.left()));
      a.items = std::move(v);
      break;
    }
    case ValueType::array: {
      std::vector<Array> v;
      v.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(read_array(c, key, depth + 1));
      a.items = std::move(v);
      break;
    }
  }
  return a;
}

// Version check: 2 and 3 are read (identical layouts; 3 allows big-endian files, refused here).
void check_version(std::uint32_t v, const std::string& file) {
  if (v == 2 || v == 3) return;
  if (v == 1) bad(file, "GGUF version 1 is not supported (its counts and lengths are 32-bit; re-convert the model to version 3)");
  const std::uint32_t swapped = __builtin_bswap32(v);
  if (swapped >= 1 && swapped <= 3)
    bad(file, "this is a big-endian GGUF file (version ", swapped, " stored big-endian); only little-endian files are supported");
  bad(file, "unsupported GGUF version ", v, " (this reader reads versions 2 and 3)");
}

TensorInfo read_tensor_info(Cursor& c, std::uint64_t index) {
  TensorInfo t;
  t.name = c.read_string("name", attend::detail::concat("tensor ", index), detail::kMaxNameBytes);
  const std::string tn = attend::detail::concat("tensor '", printable(t.name), "'");
  const auto n_dims = c.read<std::uint32_t>("dimension count", tn);
  if (n_dims > detail::kMaxDims) bad(c.file(), tn, " has ", n_dims, " dimensions (at most ", detail::kMaxDims, ")");
  std::int64_t elements = 1;
  for (std::uint32_t d = 0; d < n_dims; ++d) {
    const auto ne = c.read<std::uint64_t>("a dimension", tn);
    if (ne > static_cast<std::uint64_t>(INT64_MAX)) bad(c.file(), tn, " dimension ", d, " is ", ne, ", beyond int64");
    t.dims.push_back(static_cast<std::int64_t>(ne));
    if (__builtin_mul_overflow(elements, static_cast<std::int64_t>(ne), &elements))
      bad(c.file(), tn, " has more elements than int64 can count");
  }
  const auto type = c.read<std::uint32_t>("type", tn);
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (info == nullptr) bad(c.file(), tn, " has unknown ggml type ", type);
  t.type = static_cast<GgmlType>(type);
  const std::int64_t ne0 = t.dims.empty() ? 1 : t.dims[0];
  if (ne0 % info->block_size != 0)
    bad(c.file(), tn, " of type ", info->name, " has rows of ", ne0, " elements, not a multiple of its block size ", info->block_size);
  if (elements > 0) {  // the product of the dims already fits int64; the byte count must too
    const auto blocks = static_cast<std::uint64_t>(elements / info->block_size);
    if (__builtin_mul_overflow(blocks, static_cast<std::uint64_t>(info->block_bytes), &t.bytes))
      bad(c.file(), tn, " would take more than 2^64 bytes");
  }
  t.offset = c.read<std::uint64_t>("data offset", tn);
  return t;
}

}  // namespace

std::uint64_t File::file_size() const { return storage_ ? storage_->size : 0; }

File File::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) bad(path, "cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    bad(path, "cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    bad(path, "is not a regular file (a directory, FIFO, socket or device); GGUF files are read from regular files only");
  }
  auto storage = std::make_shared<Storage>();
  storage->size = static_cast<std::uint64_t>(st.st_size);
  if (storage->size > 0) {
    void* m = ::mmap(nullptr, static_cast<std::size_t>(storage->size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      bad(path, "cannot map ", storage->size, " bytes: ", std::strerror(err));
    }
    storage->map = m;
    storage->data = static_cast<const std::byte*>(m);
  }
  ::close(fd);  // the mapping keeps the file's pages reachable
  return parse(std::move(storage), path);
}

File File::from_bytes(std::string bytes, const std::string& name) {
  auto storage = std::make_shared<Storage>();
  storage->owned = std::move(bytes);
  storage->data = reinterpret_cast<const std::byte*>(storage->owned.data());
  storage->size = storage->owned.size();
  return parse(std::move(storage), name);
}

File File::parse(std::shared_ptr<const Storage> storage, const std::string& name) {
  File f;
  f.storage_ = std::move(storage);
  f.name_ = name;
  Cursor c(f.storage_->data, f.storage_->size, f.name_);
  if (c.left() < 4) bad(name, "too short to be a GGUF file (", c.left(), " bytes)");
  if (std::memcmp(c.here(), detail::kMagic, 4) != 0)
    bad(name, "not a GGUF file (it starts with '", printable(std::string_view(reinterpret_cast<const char*>(c.here()), 4)),
        "', not 'GGUF')");
  c.skip(4);
  f.version_ = c.read<std::uint32_t>("version");
  check_version(f.version_, name);
  const auto n_tensors = c.read<std::uint64_t>("tensor count");
  const auto n_kv = c.read<std::uint64_t>("metadata count");
  // A key-value pair takes at least 14 bytes (length, 1-byte key, type, 1-byte value), a tensor
  // info at least 24: counts beyond that cannot be honest, and must not size any allocation.
  if (n_kv > c.left() / 14) bad(name, "header claims ", n_kv, " metadata entries, but only ", c.left(), " bytes follow");
  if (n_tensors > c.left() / 24) bad(name, "header claims ", n_tensors, " tensors, but only ", c.left(), " bytes follow");

  for (std::uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("key", attend::detail::concat("metadata entry ", i), detail::kMaxKeyBytes);
    if (key.empty()) bad(name, "metadata entry ", i, " has an empty key");
    const std::string pk = attend::detail::concat("'", printable(key), "'");
    if (f.key_index_.count(key) != 0) bad(name, "duplicate metadata key ", pk);
    const ValueType t = read_type(c, "value type", pk);
    Value v = read_value(c, t, pk, 0);
    f.key_index_.emplace(key, f.keys_.size());
    f.keys_.push_back(std::move(key));
    f.values_.push_back(std::move(v));
  }
  if (const Value* a = f.find(detail::kAlignmentKey)) {
    if (type_of(*a) != ValueType::u32)
      bad(name, detail::kAlignmentKey, " is a ", value_type_name(type_of(*a)), ", but must be a uint32");
    const std::uint32_t al = std::get<std::uint32_t>(*a);
    if (al == 0 || (al & (al - 1)) != 0) bad(name, detail::kAlignmentKey, " is ", al, ", not a power of two");
    f.alignment_ = al;
  }

  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t = read_tensor_info(c, i);
    if (f.tensor_index_.count(t.name) != 0) bad(name, "duplicate tensor name '", printable(t.name), "'");
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }
  f.data_offset_ = c.pos();
  if (n_tensors > 0) {  // the data section starts at the next multiple of the alignment (as ggml)
    f.data_offset_ += (f.alignment_ - f.data_offset_ % f.alignment_) % f.alignment_;
    if (f.data_offset_ > f.storage_->size)
      bad(name, "truncated: the data section would start at byte ", f.data_offset_, ", past the end (", f.storage_->size, " bytes)");
  }
  const std::uint64_t data_size = f.storage_->size - f.data_offset_;
  for (TensorInfo& t : f.tensors_) {
    const std::string tn = attend::detail::concat("tensor '", printable(t.name), "'");
    if (t.offset % f.alignment_ != 0) bad(name, tn, " has offset ", t.offset, ", not a multiple of the alignment ", f.alignment_);
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      bad(name, tn, " (", t.bytes, " bytes at data offset ", t.offset, ") ends past the end of the file (data section of ",
          data_size, " bytes)");
    t.file_offset = f.data_offset_ + t.offset;
  }
  std::vector<std::size_t> order(f.tensors_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return f.tensors_[a].offset < f.tensors_[b].offset; });
  const TensorInfo* prev = nullptr;  // the non-empty tensor that ends last so far
  for (std::size_t i : order) {
    const TensorInfo& t = f.tensors_[i];
    if (t.bytes == 0) continue;
    if (prev != nullptr && t.offset < prev->offset + prev->bytes)
      bad(name, "tensors '", printable(prev->name), "' (bytes ", prev->offset, "..", prev->offset + prev->bytes, ") and '",
          printable(t.name), "' (from byte ", t.offset, ") overlap in the data section");
    if (prev == nullptr || t.offset + t.bytes > prev->offset + prev->bytes) prev = &t;
  }
  return f;
}

Span<const std::byte> File::tensor_data(const TensorInfo& t) const {
  // Only TensorInfos of this file are valid here: check the range again rather than trust it.
  if (t.file_offset > file_size() || t.bytes > file_size() - t.file_offset)
    bad(name_, "tensor_data: tensor '", printable(t.name), "' lies outside the file");
  return {storage_->data + t.file_offset, static_cast<std::size_t>(t.bytes)};
}

}  // namespace attend::gguf
