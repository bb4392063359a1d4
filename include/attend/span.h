#pragma once
// attend::Span<T>: a non-owning view of `size` contiguous elements of type T (a pointer and a
// count), the array parameter type of the public headers. It is ours rather than std::span so that
// the headers compile as C++17 (the library itself is C++20).
//
// Converts implicitly from a pointer and a count, C arrays, std::vector, std::array, std::string
// and any container with data() and size() whose elements convert by qualification (so a
// Span<const T> views a std::vector<T>; a temporary container only when T is const, as std::span).
// Under C++20 it also converts from std::span, and std::span<T> is constructible from it (it is a
// contiguous, sized, borrowed range), so C++20 code may pass either.
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#if __cplusplus >= 202002L && __has_include(<span>)
#include <ranges>
#include <span>
#endif

namespace attend {

template <typename T>
class Span;

namespace span_detail {

template <typename>
struct is_span : std::false_type {};
template <typename U>
struct is_span<Span<U>> : std::true_type {};

template <typename C, typename T, typename = void>
struct from_container : std::false_type {};
// C (as passed: possibly an rvalue) has data() and size(), its elements convert to T by
// qualification only (U(*)[] -> T(*)[]), and a temporary is viewed only as const elements.
template <typename C, typename T>
struct from_container<C, T,
                      std::void_t<decltype(std::data(std::declval<C&>())), decltype(std::size(std::declval<C&>()))>>
    : std::bool_constant<
          !is_span<std::remove_cv_t<std::remove_reference_t<C>>>::value && !std::is_array_v<std::remove_reference_t<C>> &&
          std::is_convertible_v<std::remove_pointer_t<decltype(std::data(std::declval<C&>()))> (*)[], T (*)[]> &&
          (std::is_lvalue_reference_v<C> || std::is_const_v<T>)> {};

}  // namespace span_detail

template <typename T>
class Span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using pointer = T*;
  using reference = T&;
  using iterator = T*;
  using reverse_iterator = std::reverse_iterator<T*>;

  constexpr Span() noexcept = default;
  constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <std::size_t N>
  constexpr Span(T (&array)[N]) noexcept : data_(array), size_(N) {}
  // Containers (std::vector, std::array, std::string, std::span, ...).
  template <typename C, std::enable_if_t<span_detail::from_container<C&&, T>::value, int> = 0>
  constexpr Span(C&& c) noexcept : data_(std::data(c)), size_(static_cast<std::size_t>(std::size(c))) {}
  // Span<U> -> Span<const U> (and other qualification conversions).
  template <typename U, std::enable_if_t<!std::is_same_v<U, T> && std::is_convertible_v<U (*)[], T (*)[]>, int> = 0>
  constexpr Span(const Span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }

  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T& front() const noexcept { return data_[0]; }
  constexpr T& back() const noexcept { return data_[size_ - 1]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  constexpr reverse_iterator rbegin() const noexcept { return reverse_iterator(end()); }
  constexpr reverse_iterator rend() const noexcept { return reverse_iterator(begin()); }

  // Parts, as std::span's (no bounds checks: the caller guarantees offset + count <= size()).
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  constexpr Span first(std::size_t count) const noexcept { return {data_, count}; }
  constexpr Span last(std::size_t count) const noexcept { return {data_ + (size_ - count), count}; }
  constexpr Span subspan(std::size_t offset, std::size_t count = npos) const noexcept {
    return {data_ + offset, count == npos ? size_ - offset : count};
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Class template argument deduction: Span(vector) is a Span of its elements, Span(p, n) of *p.
template <typename T, std::size_t N>
Span(T (&)[N]) -> Span<T>;
template <typename C>
Span(C&) -> Span<std::remove_pointer_t<decltype(std::data(std::declval<C&>()))>>;
template <typename C>
Span(const C&) -> Span<std::remove_pointer_t<decltype(std::data(std::declval<const C&>()))>>;

}  // namespace attend

#if __cplusplus >= 202002L && __has_include(<span>)
// A view: std::span may be built from a temporary Span too.
template <typename T>
inline constexpr bool std::ranges::enable_borrowed_range<attend::Span<T>> = true;
#endif
