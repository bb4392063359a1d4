// attend::Span compiled as C++17 (target attend_headers_cxx17, ctest headers_cxx17): which
// conversions it allows and refuses, its parts, and class template argument deduction. A wrong
// answer fails the build of this file.
#include <array>
#include <string>
#include <type_traits>
#include <vector>

#include "attend/span.h"

static_assert(__cplusplus == 201703L, "this file checks the headers as C++17");

namespace {

using attend::Span;
struct Base {};
struct Derived : Base {};

// From containers: by qualification only, temporaries only as const elements (like std::span).
static_assert(std::is_convertible_v<std::vector<float>&, Span<float>>);
static_assert(std::is_convertible_v<std::vector<float>&, Span<const float>>);
static_assert(std::is_convertible_v<const std::vector<float>&, Span<const float>>);
static_assert(!std::is_convertible_v<const std::vector<float>&, Span<float>>);
static_assert(std::is_convertible_v<std::vector<float>&&, Span<const float>>);
static_assert(!std::is_convertible_v<std::vector<float>&&, Span<float>>);
static_assert(!std::is_convertible_v<std::vector<double>&, Span<const float>>);
static_assert(!std::is_convertible_v<std::vector<Derived>&, Span<Base>>);
static_assert(std::is_convertible_v<std::array<int, 4>&, Span<int>>);
static_assert(std::is_convertible_v<const std::string&, Span<const char>>);
static_assert(std::is_convertible_v<float (&)[3], Span<const float>>);
static_assert(std::is_convertible_v<Span<int>, Span<const int>>);
static_assert(!std::is_convertible_v<Span<const int>, Span<int>>);
static_assert(std::is_trivially_copyable_v<Span<const float>>);

// Parts, in constant expressions.
constexpr int kData[5] = {1, 2, 3, 4, 5};
constexpr Span<const int> kAll(kData);
static_assert(kAll.size() == 5 && kAll.size_bytes() == 5 * sizeof(int) && !kAll.empty());
static_assert(kAll.front() == 1 && kAll.back() == 5 && kAll[2] == 3 && kAll.data() == kData);
static_assert(kAll.subspan(1).size() == 4 && kAll.subspan(1)[0] == 2);
static_assert(kAll.subspan(1, 2).size() == 2 && kAll.subspan(1, 2)[1] == 3);
static_assert(kAll.first(2).size() == 2 && kAll.first(2)[1] == 2);
static_assert(kAll.last(2).size() == 2 && kAll.last(2)[0] == 4);
static_assert(*kAll.rbegin() == 5 && kAll.end() - kAll.begin() == 5);
static_assert(Span<const int>().empty() && Span<const int>().data() == nullptr);

// Class template argument deduction.
std::vector<float> g_vector{1.0f, 2.0f};
const std::vector<float> g_const_vector{1.0f};
int g_array[3] = {};
static_assert(std::is_same_v<decltype(Span(g_vector)), Span<float>>);
static_assert(std::is_same_v<decltype(Span(g_const_vector)), Span<const float>>);
static_assert(std::is_same_v<decltype(Span(g_array)), Span<int>>);
static_assert(std::is_same_v<decltype(Span(g_array + 1, 2)), Span<int>>);

}  // namespace
