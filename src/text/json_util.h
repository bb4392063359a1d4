#pragma once
// Reading tokenizer JSON files with messages that name the file and the field.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "text/check.h"

namespace attend::text::detail {

class JsonReader {
 public:
  JsonReader(const char* where, std::string name) : where_(where), name_(std::move(name)) {}

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    detail::fail(where_, name_, ": ", parts...);
  }
  // "<where>: <name>", for messages raised further down (regex compilation).
  std::string context() const { return std::string(where_) + ": " + name_; }
  nlohmann::json parse(std::string_view text) const {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail("not valid JSON (", e.what(), ")");
    }
  }
  // The member, or nullptr when absent or null.
  static const nlohmann::json* member(const nlohmann::json& o, const char* key) {
    if (!o.is_object()) return nullptr;
    const auto it = o.find(key);
    return it == o.end() || it->is_null() ? nullptr : &*it;
  }
  const nlohmann::json& require(const nlohmann::json& o, const char* key, const char* context) const {
    const nlohmann::json* v = member(o, key);
    if (!v) fail(context, " has no \"", key, "\"");
    return *v;
  }
  bool boolean(const nlohmann::json& o, const char* key, bool fallback, const char* context) const {
    const nlohmann::json* v = member(o, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(context, ".", key, " is not true/false");
    return v->get<bool>();
  }
  std::string string(const nlohmann::json& o, const char* key, const char* context) const {
    const nlohmann::json& v = require(o, key, context);
    if (!v.is_string()) fail(context, ".", key, " is not a string");
    return v.get<std::string>();
  }
  std::string string_or(const nlohmann::json& o, const char* key, std::string fallback, const char* context) const {
    const nlohmann::json* v = member(o, key);
    if (!v) return fallback;
    if (!v->is_string()) fail(context, ".", key, " is not a string");
    return v->get<std::string>();
  }
  std::int64_t integer(const nlohmann::json& v, const char* context) const {
    if (!v.is_number_integer()) fail(context, " is not an integer");
    return v.get<std::int64_t>();
  }
  const nlohmann::json& array(const nlohmann::json& o, const char* key, const char* context) const {
    const nlohmann::json& v = require(o, key, context);
    if (!v.is_array()) fail(context, ".", key, " is not an array");
    return v;
  }

 private:
  const char* where_;
  std::string name_;
};

}  // namespace attend::text::detail
