#pragma once

// Internal header of the namespace layer (never installed): a small, strict
// JSON reader (RFC 8259) for migration files. Objects keep their member order
// and refuse duplicate names; nesting is limited to 64 levels.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace durable::detail {

/// A parsed JSON value.
struct json_value {
  enum class kind { null, boolean, number, string, array, object };

  kind type = kind::null;
  bool boolean = false;
  /// The string's contents (UTF-8), or a number's text as written.
  std::string text;
  std::vector<json_value> items;
  std::vector<std::pair<std::string, json_value>> members;
  /// Where the value starts (1-based), for error messages.
  size_t line = 1;
  size_t column = 1;

  bool is_string() const noexcept { return type == kind::string; }
  bool is_array() const noexcept { return type == kind::array; }
  bool is_object() const noexcept { return type == kind::object; }

  /// Returns the member `name` of an object, or null.
  const json_value* find(std::string_view name) const noexcept;

  /// Returns "line L, column C".
  std::string where() const;
};

/// Returns the length of the valid UTF-8 sequence at `x[i]`, or 0 if there
/// is none (overlong forms and surrogates are invalid).
size_t utf8_length(std::string_view x, size_t i) noexcept;

/// Returns the name of `x` ("string", "object", ...).
const char* to_string(json_value::kind x) noexcept;

/// Parses `input` (one value, surrounded by whitespace at most). Errors are
/// `errc::invalid_argument` naming line and column.
caf::expected<json_value> parse_json(std::string_view input);

} // namespace durable::detail
