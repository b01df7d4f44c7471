#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace durable {

/// The 32 raw bytes that identify an object inside its namespace (the bytes
/// of an `object_id`; the persistence layer does not interpret them).
using object_bytes = std::array<uint8_t, 32>;

/// Limits of the per-object storage API (they match the original model).
struct storage_limits {
  /// Largest user key in bytes.
  static constexpr size_t max_key_size = 2048;

  /// Largest value in bytes.
  static constexpr size_t max_value_size = 131072;

  /// Most keys (or key-value pairs) in one multi-key call.
  static constexpr size_t max_batch_size = 128;
};

/// Options of a single write.
struct write_options {
  /// Do not hold the turn's output for this write: a turn whose writes all
  /// allow unconfirmed output replies without waiting for its commit.
  bool allow_unconfirmed = false;
};

/// An alarm as stored in the time index of an environment.
struct alarm_entry {
  /// The namespace number of the object (see `storage_engine`).
  uint32_t namespace_number = 0;

  /// The object's bytes.
  object_bytes object{};

  /// The scheduled time in milliseconds since the epoch.
  int64_t time = 0;
};

/// What one namespace stores in one environment.
struct namespace_usage {
  /// The namespace number in that environment.
  uint32_t namespace_number = 0;

  /// Objects with at least one key.
  uint64_t objects = 0;

  /// Keys of all its objects.
  uint64_t keys = 0;

  /// Bytes of those entries as stored (encoded keys plus values).
  uint64_t bytes = 0;

  /// Alarms set by its objects.
  uint64_t alarms = 0;
};

} // namespace durable
