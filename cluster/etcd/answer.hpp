#pragma once

// Internal header of the etcd client: reading the gateway's JSON answers.
// etcd's JSON renders 64-bit integers as strings, omits zeros and empty
// values, and base64-encodes keys and values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "durable/etcd_client.hpp"
#include "gateway.hpp"

namespace durable::etcd {

/// gRPC NOT_FOUND, e.g. "etcdserver: requested lease not found".
constexpr int not_found = 5;

/// Keys per transaction of the batched calls (etcd allows 128 operations).
constexpr size_t max_batch = 64;

/// A retryable error: the answer did not have the expected shape.
caf::error malformed(const char* what);

/// The integer member `name` of `obj` (0 if absent), or nothing if it is no
/// integer.
std::optional<int64_t> int_field(const nlohmann::json& obj, const char* name);

/// The revision in the answer's header.
caf::expected<int64_t> header_revision(const nlohmann::json& body);

/// One entry of a range answer's `kvs` (its key too if `key` is not null).
caf::expected<key_value> read_kv(const nlohmann::json& kv,
                                 std::string* key = nullptr);

/// The single key of a range answer, or nothing.
caf::expected<std::optional<key_value>> single_kv(const nlohmann::json& range);

/// The `i`th range answer of a transaction of `n` ranges.
caf::expected<std::optional<key_value>> range_answer(const nlohmann::json& body,
                                                     size_t i, size_t n);

/// The error for a request etcd refused.
caf::error rejected(const gateway_answer& answer);

/// The body of an answer that succeeded, or why the call failed.
caf::expected<nlohmann::json> body_of(caf::expected<gateway_answer> answer);

caf::error check_key(const std::string& key);

/// 1 to `max_batch` keys, none empty.
caf::error check_batch(const std::vector<std::string>& keys);

} // namespace durable::etcd
