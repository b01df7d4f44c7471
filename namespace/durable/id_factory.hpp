#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include <caf/expected.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/object_id.hpp"
#include "durable/secret.hpp"

namespace durable {

/// Makes and verifies the object IDs of one namespace, following the format
/// in DESIGN.md ("Identity"). The namespace key is derived once in the
/// constructor; copies share it, and all const members are safe to call
/// concurrently.
class id_factory {
public:
  // -- constructors -----------------------------------------------------------

  /// Derives the namespace key
  /// `HMAC-SHA256(secret, "durable-namespace" 0x00 namespace_key)`.
  /// `namespace_key` is the namespace's unique key, which survives renames.
  id_factory(const deployment_secret& secret, std::string_view namespace_key);

  // -- factories --------------------------------------------------------------

  /// Returns the ID for `name` in jurisdiction `j`: the same inputs give the
  /// same ID, always. The result carries `name`.
  object_id from_name(std::string_view name, jurisdiction j) const;

  /// Returns a fresh random ID in jurisdiction `j`. `placement_tag` is stored
  /// big-endian in bytes 1..2 (0 on a single node). Fails with
  /// `errc::unavailable` if the CSPRNG fails.
  caf::expected<object_id> new_unique(jurisdiction j,
                                      uint16_t placement_tag = 0) const;

  /// Parses and verifies an ID: anything but 64 hex digits (either case) is
  /// `errc::invalid_id`; an ID that does not verify for this namespace is
  /// `errc::wrong_namespace`. Parsed named IDs carry no name.
  caf::expected<object_id> from_string(std::string_view hex) const;

  // -- verification -----------------------------------------------------------

  /// Returns whether `id` has a known format and jurisdiction and its MAC
  /// verifies for this namespace (constant-time compare).
  bool verify(const object_id& id) const noexcept;

private:
  struct impl;

  std::shared_ptr<const impl> impl_;
};

} // namespace durable
