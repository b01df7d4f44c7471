#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "durable/catalog.hpp"
#include "durable/cluster_messages.hpp"

namespace durable::cluster {

using hello_key = std::array<uint8_t, 32>;

/// The MAC of `x` on the link from node `from` to node `to` (CAF node IDs
/// as strings): HMAC-SHA256 over every field, length-prefixed.
std::vector<uint8_t> hello_mac(const hello_key& key, const hello& x,
                               const std::string& from, const std::string& to);

/// Checks a peer's hello: its MAC (constant time), the cluster name, that
/// the catalog has its name under its number, and that each namespace bound
/// on both nodes has the same key on both. `errc::invalid_argument` saying
/// what is wrong.
caf::error verify_hello(const hello_key& key, const hello& x,
                        const std::string& from, const std::string& to,
                        const hello& mine, const catalog& nodes);

} // namespace durable::cluster
