#pragma once

// Standard base64 (RFC 4648, padded), as the etcd gateway's JSON carries
// keys and values.

#include <optional>
#include <string>
#include <string_view>

namespace durable::etcd {

/// Encodes `bytes` as padded base64.
std::string base64_encode(std::string_view bytes);

/// Decodes padded base64; nothing for any character outside the alphabet, a
/// length that is not a multiple of 4 or misplaced padding.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace durable::etcd
