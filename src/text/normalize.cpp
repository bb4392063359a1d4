// Normalizers (see pipeline.h): Prepend, Replace, Strip, and Unicode forms / lowercase through ICU.
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/ucasemap.h>

#include <memory>

#include "text/check.h"
#include "text/pipeline.h"
#include "text/utf8.h"

namespace attend::text::detail {
namespace {

std::string unicode_form(NormalizerStep::Kind kind, const std::string& s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = kind == NormalizerStep::Kind::nfc    ? icu::Normalizer2::getNFCInstance(err)
                              : kind == NormalizerStep::Kind::nfd  ? icu::Normalizer2::getNFDInstance(err)
                              : kind == NormalizerStep::Kind::nfkc ? icu::Normalizer2::getNFKCInstance(err)
                                                                   : icu::Normalizer2::getNFKDInstance(err);
  if (U_FAILURE(err)) detail::fail("tokenizer", "ICU normalizer unavailable: ", u_errorName(err));
  if (n->isNormalizedUTF8(s, err) && U_SUCCESS(err)) return s;  // the common case, no copy made
  err = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(s.size()));
  n->normalizeUTF8(0, s, sink, nullptr, err);
  if (U_FAILURE(err)) detail::fail("tokenizer", "Unicode normalization failed: ", u_errorName(err));
  return out;
}

std::string lowercase(const std::string& s) {
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UCaseMap, void (*)(UCaseMap*)> map(ucasemap_open("", 0, &err), ucasemap_close);
  if (U_FAILURE(err)) detail::fail("tokenizer", "ICU case map unavailable: ", u_errorName(err));
  std::string out(s.size() + 16, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    err = U_ZERO_ERROR;
    const int32_t n = ucasemap_utf8ToLower(map.get(), out.data(), static_cast<int32_t>(out.size()), s.data(),
                                           static_cast<int32_t>(s.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      out.resize(static_cast<std::size_t>(n));
      continue;
    }
    if (U_FAILURE(err)) detail::fail("tokenizer", "lowercasing failed: ", u_errorName(err));
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  detail::fail("tokenizer", "lowercasing failed");
}

std::string strip(const std::string& s, bool left, bool right) {
  std::size_t b = 0, e = s.size();
  if (left)
    while (b < e) {
      std::size_t i = b;
      if (!is_white_space(next_char(s, i))) break;
      b = i;
    }
  if (right)
    while (e > b) {
      const std::size_t p = prev_char_start(s, e);
      std::size_t i = p;
      if (!is_white_space(next_char(s, i))) break;
      e = p;
    }
  return s.substr(b, e - b);
}

}  // namespace

std::string normalize(const std::vector<NormalizerStep>& steps, std::string text) {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::prepend:
        if (!text.empty()) text.insert(0, step.text);
        break;
      case NormalizerStep::Kind::replace: {
        matches.clear();
        step.pattern.find_all(text, matches);
        if (matches.empty()) break;
        std::string out;
        std::size_t at = 0;
        for (const auto& [b, e] : matches) {
          out.append(text, at, b - at);
          out += step.text;
          at = e;
        }
        out.append(text, at, std::string::npos);
        text = std::move(out);
        break;
      }
      case NormalizerStep::Kind::nfc:
      case NormalizerStep::Kind::nfd:
      case NormalizerStep::Kind::nfkc:
      case NormalizerStep::Kind::nfkd:
        text = unicode_form(step.kind, text);
        break;
      case NormalizerStep::Kind::lowercase:
        text = lowercase(text);
        break;
      case NormalizerStep::Kind::strip:
        text = strip(text, step.left, step.right);
        break;
    }
  }
  return text;
}

}  // namespace attend::text::detail
