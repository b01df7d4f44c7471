#pragma once

// Request paths to objects, and failures to HTTP responses. Pure functions,
// no I/O: the connection calls them on its I/O thread.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "durable/fetch.hpp"
#include "durable/http_binding.hpp"

namespace durable::http {

/// What a request target names.
/// The request header that gives a location hint for the object, honoured
/// only if the request creates it (`get_options::location_hint`).
inline constexpr std::string_view location_hint_header =
    "x-durable-location-hint";

struct parsed_target {
  /// The first path segment (not decoded; bindings are plain tokens).
  std::string_view binding;
  /// The object named by the rest of the path.
  detail::object_ref object;
};

/// Splits `target` ("/<binding>/<name>/..." or "/<binding>/id/<hex>/...",
/// query allowed). Returns false, with the response `status` (404 without a
/// binding segment, else 400) and the error text, for a target naming no
/// object. Neither the binding nor the ID are checked here.
bool parse_target(std::string_view target, parsed_target& out, unsigned& status,
                  std::string& error);

/// Percent-decodes `in` into `out` ('+' stays '+'). Returns false for a '%'
/// not followed by two hex digits.
bool percent_decode(std::string_view in, std::string& out);

/// Returns whether `segment` is acceptable as a binding name.
bool valid_binding_name(std::string_view segment);

/// Returns whether an object's response header may go out: not one the
/// server sets itself (framing, connection), a name that is an RFC 7230
/// token and a value without control characters (but HTAB), so that nothing
/// breaks the response framing (header injection) or makes it unparsable.
bool acceptable_header(std::string_view name, std::string_view value);

/// Makes a JSON error response `{"error", "retryable", "overloaded",
/// "remote"}` with `status`.
fetch_response error_response(uint16_t status, std::string_view text,
                              bool retryable = false, bool overloaded = false,
                              bool remote = false);

/// Maps a failure of routing or of the object to its HTTP response.
fetch_response error_response(const caf::error& err);

/// Appends `text` to `out` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

} // namespace durable::http
