#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <caf/error.hpp>

#include "durable/errc.hpp"
#include "durable/metric_counter.hpp"
#include "durable/metric_gauge.hpp"

namespace durable {

/// Why a message was refused as overloaded.
enum class overload_reason : uint8_t {
  /// Its object had `max-queued` requests queued (or waiting for its
  /// instance to be spawned).
  object_queue,
  /// The node had `max-queued-total` requests queued.
  node_queue,
  /// The node had `max-live-objects` objects live and none could go.
  live_objects,
};

/// Number of `overload_reason` values.
inline constexpr size_t overload_reason_count = 3;

/// Returns the label value of `x`, e.g. `"object_queue"`.
const char* to_string(overload_reason x) noexcept;

/// What the objects of one namespace did on this node. The namespace owns
/// it; the runtime records into it on the hot paths (lock-free, sharded per
/// thread) and `deployment::metrics` reads it without stopping anything.
struct object_metrics {
  /// Slots of `errors`: one per `errc` value, slot 0 for errors of other
  /// categories (a handler's own error codes, CAF's).
  static constexpr size_t error_slots =
      static_cast<size_t>(errc::unsupported_message) + 1;

  /// Messages routed to this namespace's objects on this node (requests,
  /// one-way sends and alarm deliveries; refused ones too).
  metric_counter requests;
  /// Object instances spawned.
  metric_counter activations;
  /// Instances that went away because they were idle (after the idle
  /// timeout, or early when the node had too many live objects).
  metric_counter evictions;
  /// Messages admitted and not handled yet (queue depth).
  metric_gauge queued;
  /// Refusals as overloaded, by `overload_reason`.
  std::array<metric_counter, overload_reason_count> overloads;
  /// Requests answered with an error, by kind (see `error_slot`).
  std::array<metric_counter, error_slots> errors;
  /// Alarms delivered for the first time (they fell due).
  metric_counter alarms_due;
  /// Alarm handlers that ran to completion.
  metric_counter alarms_delivered;
  /// Deliveries retried after a failed handler.
  metric_counter alarms_retried;
  /// Alarms deleted unrun after the last retry failed.
  metric_counter alarms_dropped;
  /// Alarm handlers that threw (each failure is retried or ends in a drop).
  metric_counter alarms_failed;

  /// The slot of `err` in `errors`.
  static size_t error_slot(const caf::error& err) noexcept {
    if (err.category() != durable_category || err.code() >= error_slots)
      return 0;
    return err.code();
  }

  /// The label value of slot `i` of `errors`: the `errc` name, or "other".
  static const char* error_kind(size_t slot) noexcept;

  /// Counts a request answered with `err`.
  void count_error(const caf::error& err) noexcept {
    errors[error_slot(err)].inc();
  }

  void count_overload(overload_reason why) noexcept {
    overloads[static_cast<size_t>(why)].inc();
  }

  /// Figures of objects that belong to no namespace (made outside one, as
  /// some tests do): recorded, never shown.
  static object_metrics& unbound() noexcept;
};

} // namespace durable
