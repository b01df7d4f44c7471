#pragma once

// durable-admin's JSON output (--json), written with nlohmann-json.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace admin {

/// Members in the order they are added: scripts and tests read the text.
using json = nlohmann::ordered_json;

/// Returns `x` as one line of JSON. Names and keys are arbitrary bytes: what
/// is not valid UTF-8 becomes U+FFFD, so the line is always JSON.
inline std::string to_text(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Returns `x` as a JSON string, for error texts that quote names.
inline std::string json_quoted(std::string_view x) {
  return to_text(json(std::string{x}));
}

} // namespace admin
