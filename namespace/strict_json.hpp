#pragma once

// Internal header of the namespace layer (never installed): strict parsing
// of the JSON files users write (migration files, the cluster catalog) on top
// of nlohmann-json, and JSON text that stays valid whatever bytes it holds.
// The cluster layer above uses it too.

#include <cstddef>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace durable::detail {

/// Parses one JSON value (RFC 8259; surrounding whitespace only) from `text`,
/// stricter than `nlohmann::json::parse`:
/// - a member name twice in one object is an error (the library would keep
///   the last one silently);
/// - at most `max_depth` arrays and objects nest: deeper input is refused
///   while parsing, so hostile input never builds a tree deep enough for the
///   library's recursive code (dump, copy, compare) to overflow the stack.
/// Errors are `errc::invalid_argument`: "invalid JSON at line L, column C:
/// what" (the position of the last byte read: the end of the offending
/// token), "duplicate member \"k\" at line L, column C" (the end of the second
/// name), "nested deeper than N levels at line L, column C".
caf::expected<nlohmann::json> parse_strict_json(std::string_view text,
                                                size_t max_depth);

/// Returns `x` as compact JSON text. Bytes in strings that are not valid UTF-8
/// become U+FFFD (names are arbitrary bytes), so the text is always JSON.
std::string dump_json(const nlohmann::json& x);

/// Returns `x` as compact JSON text, members in insertion order (see above).
std::string dump_json(const nlohmann::ordered_json& x);

/// Returns `x` as a JSON string for an error text, cut short after 80 bytes
/// (error texts echo input; control characters show escaped).
std::string echo(std::string_view x);

/// Returns `x` as JSON text for an error text, cut short after 80 bytes.
std::string echo_json(const nlohmann::json& x);

/// Returns "line L, column C" of byte `offset` of `text` (both from 1;
/// columns count bytes).
std::string line_and_column(std::string_view text, size_t offset);

} // namespace durable::detail
