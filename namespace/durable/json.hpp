#pragma once

#include <string>
#include <string_view>

namespace durable {

/// Returns `x` as a JSON string literal, quotes included. Control characters,
/// quotes and backslashes are escaped; bytes that are not valid UTF-8 become
/// U+FFFD, so the result is always valid JSON.
std::string json_quote(std::string_view x);

} // namespace durable
