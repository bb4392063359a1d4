// GGUF metadata access: typed getters with range-checked integer conversions, tensor lookup.
#include <cmath>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>

#include "io/gguf_format.h"

namespace attend::gguf {

using detail::bad;
using detail::printable;

std::string_view value_type_name(ValueType t) {
  static constexpr std::string_view kNames[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                                "bool", "string", "array", "uint64", "int64", "float64"};
  const auto i = static_cast<std::uint32_t>(t);
  return i < std::size(kNames) ? kNames[i] : std::string_view("unknown");
}

std::size_t Array::size() const {
  return std::visit([](const auto& v) { return v.size(); }, items);
}

std::int64_t TensorInfo::elements() const {
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= d;  // the reader checked that this product fits
  return n;
}

std::string detail::printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 4);
    }
  }
  if (s.size() > 80) out.append(3, '.');
  return out;
}

namespace {

template <typename T>
constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Converts one stored value to T: integers to integers when the value fits, floats to floats,
// otherwise only the same type. Returns false when the value does not convert.
template <typename T, typename S>
bool convert(const S& s, T& out) {
  if constexpr (std::is_same_v<T, S>) {
    out = s;
    return true;
  } else if constexpr (kIsInt<T> && kIsInt<S>) {
    if (!std::in_range<T>(s)) return false;
    out = static_cast<T>(s);
    return true;
  } else if constexpr (std::is_floating_point_v<T> && std::is_floating_point_v<S>) {
    out = static_cast<T>(s);  // f64 -> f32 rounds (out-of-range values become inf, as a cast does)
    return true;
  } else {
    return false;
  }
}

template <typename T>
std::string_view wanted_name() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_floating_point_v<T>) return "float";
  else if constexpr (std::is_signed_v<T>) return sizeof(T) == 1 ? "int8" : sizeof(T) == 2 ? "int16" : sizeof(T) == 4 ? "int32" : "int64";
  else return sizeof(T) == 1 ? "uint8" : sizeof(T) == 2 ? "uint16" : sizeof(T) == 4 ? "uint32" : "uint64";
}

const char* article(std::string_view noun) { return noun[0] == 'i' ? "an " : "a "; }

template <typename T>
T scalar(const File& f, std::string_view key) {
  const Value& v = f.get(key);
  T out{};
  const bool ok = std::visit(
      [&](const auto& s) {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, Array>) return false;
        else return convert(s, out);
      },
      v);
  if (!ok) {
    std::string shown;
    std::visit([&](const auto& s) {
      using S = std::decay_t<decltype(s)>;
      if constexpr (kIsInt<S>) shown = attend::detail::concat(" ", +s);  // + prints int8 as a number
    }, v);
    bad(f.name(), "key '", printable(key), "' is ", value_type_name(type_of(v)), shown, ", not a ", wanted_name<T>(),
        kIsInt<T> && !shown.empty() ? " (out of range)" : "");
  }
  return out;
}

}  // namespace

const Value* File::find(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &values_[it->second];
}

const Value& File::get(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) bad(name_, "no metadata key '", printable(key), "'");
  return *v;
}

const std::string& File::get_string(std::string_view key) const {
  const Value& v = get(key);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  bad(name_, "key '", printable(key), "' is ", value_type_name(type_of(v)), ", not a string");
}

bool File::get_bool(std::string_view key) const { return scalar<bool>(*this, key); }
std::uint32_t File::get_u32(std::string_view key) const { return scalar<std::uint32_t>(*this, key); }
std::int32_t File::get_i32(std::string_view key) const { return scalar<std::int32_t>(*this, key); }
std::uint64_t File::get_u64(std::string_view key) const { return scalar<std::uint64_t>(*this, key); }
std::int64_t File::get_i64(std::string_view key) const { return scalar<std::int64_t>(*this, key); }
float File::get_f32(std::string_view key) const { return scalar<float>(*this, key); }
double File::get_f64(std::string_view key) const { return scalar<double>(*this, key); }

template <typename T>
std::vector<T> File::get_array(std::string_view key) const {
  const Value& v = get(key);
  const Array* a = std::get_if<Array>(&v);
  if (a == nullptr) bad(name_, "key '", printable(key), "' is ", value_type_name(type_of(v)), ", not an array");
  return std::visit(
      [&](const auto& items) {
        using S = typename std::decay_t<decltype(items)>::value_type;
        std::vector<T> out;
        if constexpr (std::is_same_v<S, T>) {
          out = items;
        } else if constexpr (!std::is_same_v<S, Array>) {
          out.resize(items.size());
          for (std::size_t i = 0; i < items.size(); ++i) {
            T x{};
            if (!convert(static_cast<S>(items[i]), x))
              bad(name_, "array '", printable(key), "' of ", value_type_name(a->element_type()), " has element ", i,
                  " that is not ", article(wanted_name<T>()), wanted_name<T>(), kIsInt<T> && kIsInt<S> ? " (out of range)" : "");
            out[i] = x;
          }
        } else {
          bad(name_, "array '", printable(key), "' holds arrays, not ", wanted_name<T>(), " elements");
        }
        return out;
      },
      a->items);
}

template std::vector<std::uint8_t> File::get_array(std::string_view) const;
template std::vector<std::int8_t> File::get_array(std::string_view) const;
template std::vector<std::uint16_t> File::get_array(std::string_view) const;
template std::vector<std::int16_t> File::get_array(std::string_view) const;
template std::vector<std::uint32_t> File::get_array(std::string_view) const;
template std::vector<std::int32_t> File::get_array(std::string_view) const;
template std::vector<std::uint64_t> File::get_array(std::string_view) const;
template std::vector<std::int64_t> File::get_array(std::string_view) const;
template std::vector<float> File::get_array(std::string_view) const;
template std::vector<double> File::get_array(std::string_view) const;
template std::vector<bool> File::get_array(std::string_view) const;
template std::vector<std::string> File::get_array(std::string_view) const;

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (t == nullptr) bad(name_, "no tensor '", printable(name), "'");
  return *t;
}

std::vector<float> File::tensor_f32(std::string_view name) const {
  const TensorInfo& t = tensor(name);
  if (!has_reference_conversion(t.type))
    bad(name_, "tensor '", printable(name), "' is ", ggml_type_name(t.type), ", which has no conversion to f32 here");
  const std::span<const std::byte> bytes = tensor_data(t);
  std::vector<float> out(static_cast<std::size_t>(t.elements()));
  // Rows hold whole blocks, so the tensor is one long row of blocks.
  dequantize_row(t.type, bytes.data(), out.data(), t.elements());
  return out;
}

}  // namespace attend::gguf
