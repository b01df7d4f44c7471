#pragma once

#include <cstdint>

namespace durable {

/// What an object's `alarm` handler learns about the delivery.
struct alarm_info {
  /// The time the alarm was set for, in milliseconds since the epoch.
  int64_t scheduled_time = 0;
  /// How many deliveries of this alarm failed before this one.
  uint32_t retry_count = 0;

  bool is_retry() const noexcept { return retry_count > 0; }
};

} // namespace durable
