#pragma once

// Delivers due alarms to their objects (internal to the deployment).

#include <cstdint>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "durable/jurisdiction.hpp"

namespace durable {

class namespace_core;
class storage_engine;

struct alarm_scheduler_config {
  std::shared_ptr<storage_engine> engine;
  /// Finds the bound namespace with number `ns` in the environment of `j`.
  std::function<std::shared_ptr<namespace_core>(jurisdiction, uint32_t)>
      resolve;
  /// Milliseconds since the epoch (injectable for tests).
  std::function<int64_t()> now;
  /// How often the alarm index is scanned for due alarms.
  caf::timespan poll_interval;
};

/// Spawns the actor that scans every environment's alarm index and delivers
/// due alarms (spawning evicted objects), retrying failed deliveries with
/// exponential backoff: 2 s · 2^n plus up to 25 % jitter, at most 6 retries,
/// after which the alarm is deleted unrun.
caf::actor spawn_alarm_scheduler(caf::actor_system& sys,
                                 alarm_scheduler_config cfg);

/// The delay before retry number `retry` (1-based), without jitter.
int64_t alarm_backoff_ms(uint32_t retry);

/// Attempts after which a failing alarm is dropped (1 + 6 retries).
constexpr uint32_t alarm_max_attempts = 7;

} // namespace durable
