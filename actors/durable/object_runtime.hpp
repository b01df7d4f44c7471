#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <caf/behavior.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

namespace durable {

/// The part of every durable object that the runtime drives, independent of
/// the object's interface: admission of routed requests (the queue bound and
/// the closed flag that makes eviction race-free), idle tracking, and the
/// guard around each turn of the user's behavior.
///
/// Admission protocol: every sender bumps `state_` before enqueueing to the
/// object and the object drops it after handling the message. The object
/// closes itself only by moving `state_` from exactly 0 to `closed_flag`, so a
/// message is either counted before the close (and the close fails) or sees
/// the flag and takes the slow path through the namespace actor.
class object_runtime {
public:
  // -- member types -----------------------------------------------------------

  enum class admission { admitted, closed, overloaded };

  using clock = std::chrono::steady_clock;

  // -- constants --------------------------------------------------------------

  static constexpr uint32_t closed_flag = 0x80000000u;

  // -- constructors, destructors, and assignment operators --------------------

  explicit object_runtime(caf::timespan idle_timeout) noexcept;

  object_runtime(const object_runtime&) = delete;
  object_runtime& operator=(const object_runtime&) = delete;

  virtual ~object_runtime();

  // -- admission (any thread) -------------------------------------------------

  /// Counts one more queued request unless the object is closed or already
  /// has `max_queued` requests queued.
  admission admit(uint32_t max_queued) noexcept;

  /// Marks the object closed for good (it is going away).
  void close() noexcept {
    state_.fetch_or(closed_flag, std::memory_order_acq_rel);
  }

  bool closed() const noexcept {
    return (state_.load(std::memory_order_acquire) & closed_flag) != 0;
  }

  /// Requests admitted but not handled yet.
  uint32_t queued() const noexcept {
    return state_.load(std::memory_order_acquire) & ~closed_flag;
  }

  /// Returns whether the object handled nothing since `now - idle_timeout`.
  bool idle_at(clock::time_point now) const noexcept;

protected:
  // -- object-side API --------------------------------------------------------

  /// Wraps `user` so that each turn is admitted, timed and guarded: an
  /// exception thrown by a handler becomes an `errc::exception_thrown` error
  /// for the caller instead of terminating the actor.
  caf::behavior guard(caf::behavior user, caf::scheduled_actor* self);

  /// Default handler for messages outside the interface (reachable only
  /// through untyped paths such as the HTTP front door).
  static caf::result<caf::message> reject_unexpected(caf::scheduled_actor*,
                                                     caf::message_view&);

  /// Whether the object may be evicted now. Derived classes refuse while work
  /// is pending (e.g. a commit in flight).
  virtual bool may_evict() const noexcept { return true; }

private:
  friend class guarded_behavior;

  void touch() noexcept {
    last_active_.store(clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  }

  void leave() noexcept;

  /// Handles an idle check: closes and quits if idle and nothing is queued.
  void on_idle_check(caf::scheduled_actor* self);

  std::atomic<uint32_t> state_;
  std::atomic<clock::rep> last_active_;
  caf::timespan idle_timeout_;
};

} // namespace durable
