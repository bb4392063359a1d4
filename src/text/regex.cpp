// PCRE2 wrapper of the pre-tokenizers (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/regex.h"

#include <pcre2.h>

#include "text/check.h"
#include "text/utf8.h"

namespace attend::text::detail {
namespace {

// Unicode White_Space, as class content.
constexpr const char* kWhiteSpace = "\\t-\\r\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}";

pcre2_code* as_code(const std::shared_ptr<void>& p) { return static_cast<pcre2_code*>(p.get()); }

}  // namespace

std::string rewrite_white_space(std::string_view p, const std::string& where) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char d = p[++i];
      if (d == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (d == 'S') {
        if (in_class) detail::fail(where.c_str(), "\\S inside a character class is not supported in '", p, "'");
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else if (d == 'Q') {  // \Q...\E quotes verbatim
        const std::size_t e = p.find("\\E", i + 1);
        const std::size_t stop = e == std::string_view::npos ? p.size() : e + 2;
        out += p.substr(i - 1, stop - (i - 1));
        i = stop - 1;
      } else {
        out.push_back(c);
        out.push_back(d);
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);  // a leading ] is literal
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // [:alpha:]
      const std::size_t e = p.find(":]", i + 2);
      if (e != std::string_view::npos) {
        out += p.substr(i, e + 2 - i);
        i = e + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

Regex::Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  const std::string rewritten = rewrite_white_space(pattern, where);
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    detail::fail(where.c_str(), "regex '", pattern, "' does not compile: ", reinterpret_cast<const char*>(msg), " at offset ", offset);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // JIT when the build has it; the interpreter otherwise
  code_ = std::shared_ptr<void>(code, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
}

void Regex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  ATTEND_ASSERT(is_valid_utf8(text));  // checked once here, so each match skips PCRE2's O(n) check
  pcre2_code* code = as_code(code_);
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(pcre2_match_data_create_from_pattern(code, nullptr),
                                                                     pcre2_match_data_free);
  std::unique_ptr<pcre2_match_context, void (*)(pcre2_match_context*)> ctx(nullptr, pcre2_match_context_free);
  std::unique_ptr<pcre2_jit_stack, void (*)(pcre2_jit_stack*)> stack(nullptr, pcre2_jit_stack_free);
  if (!md) detail::fail("tokenizer", "out of memory for a regex match");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  while (start < text.size()) {
    int rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.get(), ctx.get());
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !stack) {  // a long backtracking run: retry with a larger stack
      ctx.reset(pcre2_match_context_create(nullptr));
      stack.reset(pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr));
      if (!ctx || !stack) detail::fail("tokenizer", "out of memory for a regex match");
      pcre2_jit_stack_assign(ctx.get(), nullptr, stack.get());
      rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.get(), ctx.get());
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      detail::fail("tokenizer", "regex '", pattern_, "' failed on a text of ", text.size(), " bytes: ", reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const std::size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      start = e;
    } else {  // an empty match: move on by one character
      start = b + char_len(static_cast<unsigned char>(text[b < text.size() ? b : text.size() - 1]));
    }
  }
}

}  // namespace attend::text::detail
