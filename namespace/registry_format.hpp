#pragma once

// Internal header of the namespace layer (never installed): how the namespace
// registry is stored in the `meta` database of the global environment.
//   registry/class/<name>     -> 0x01, then id, script and class, each as a
//                                 2-byte big-endian length and the bytes
//   registry/migration/<tag>  -> sequence (8 bytes BE) + time in ms (8 bytes)
//   registry/dropping/<id>    -> the name of a deleted class whose data in
//                                 other jurisdictions may still exist
//   registry/log-position     -> entries of a shared registry log mirrored
//                                 (8 bytes BE; absent: none)

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "durable/namespace_registry.hpp"

namespace durable::detail {

constexpr std::string_view class_prefix = "registry/class/";

constexpr std::string_view migration_prefix = "registry/migration/";

constexpr std::string_view dropping_prefix = "registry/dropping/";

constexpr std::string_view log_position_key = "registry/log-position";

/// Encodes everything of `x` but its name (which is in the key).
std::string encode_record(const namespace_record& x);

/// Decodes the record stored under `registry/class/<name>`.
caf::expected<namespace_record> decode_record(std::string_view name,
                                              std::string_view value);

std::string encode_applied(uint64_t sequence, int64_t time_ms);

void put_be64(std::string& out, uint64_t x);

/// Reads 8 bytes big-endian (`in` has at least 8).
uint64_t get_be64(std::string_view in);

/// A `storage_failure` naming the malformed `what` stored under `key`.
caf::error corrupted(std::string_view what, std::string_view key);

caf::expected<applied_migration> decode_applied(std::string_view tag,
                                                std::string_view value);

} // namespace durable::detail
