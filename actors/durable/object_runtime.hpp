#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/behavior.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/timespan.hpp>

#include "durable/alarm_info.hpp"
#include "durable/object_metrics.hpp"
#include "durable/object_storage.hpp"
#include "durable/output_gate.hpp"
#include "durable/queue_budget.hpp"

namespace durable {

class storage_engine;

/// The part of every durable object that the runtime drives, independent of
/// the object's interface: admission of routed requests, idle tracking, the
/// turn (storage writes sealed and committed together) and the output gate.
///
/// Admission protocol: every sender bumps `state_` (and takes a slot of the
/// node's `queue_budget`) before enqueueing to the object, and the object
/// drops both after handling the message. Messages an object sends itself are
/// never counted. The object closes itself only by moving its count from
/// exactly 0 to `closed_flag`, so a message is either counted before the
/// close (and the close fails) or sees the flag and takes the slow path
/// through the namespace actor.
class object_runtime {
public:
  // -- member types -----------------------------------------------------------

  /// The outcome of `admit`: counted, refused because the instance is going
  /// away, refused because the object has `max_queued` requests queued, or
  /// refused because the node's queue budget is used up.
  enum class admission { admitted, closed, overloaded, node_overloaded };

  /// What a handler answered: nothing (it answers later, or not at all), a
  /// message, or an error.
  struct turn_reply {
    enum class kind { none, value, failure };
    kind what = kind::none;
    caf::message msg;
    caf::error err;
  };

  using clock = std::chrono::steady_clock;

  // -- constants --------------------------------------------------------------

  static constexpr uint32_t closed_flag = 0x80000000u;

  /// Set while an idle check is on its way, so that sweeps ask once.
  static constexpr uint32_t check_flag = 0x40000000u;

  /// The bits of `state_` that count admitted requests.
  static constexpr uint32_t count_mask = check_flag - 1;

  // -- constructors, destructors, and assignment operators --------------------

  /// `budget` (may be null) must outlive the object; so must `metrics`
  /// (null: `object_metrics::unbound()`), which the namespace owns.
  object_runtime(object_storage storage, std::shared_ptr<storage_engine> engine,
                 queue_budget* budget = nullptr,
                 object_metrics* metrics = nullptr) noexcept;

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

  /// Closes the object for good and gives back the admissions of messages
  /// it will never handle (it terminated with them queued: CAF bounces
  /// them). Called once the instance has ended.
  void close_for_good() noexcept;

  bool closed() const noexcept {
    return (state_.load(std::memory_order_acquire) & closed_flag) != 0;
  }

  /// Requests admitted but not handled yet.
  uint32_t queued() const noexcept {
    return state_.load(std::memory_order_acquire) & count_mask;
  }

  /// Marks an idle check as sent; false if one is on its way already or the
  /// object is closed (then there is nothing to send).
  bool begin_idle_check() noexcept {
    auto prev = state_.fetch_or(check_flag, std::memory_order_acq_rel);
    return (prev & (check_flag | closed_flag)) == 0;
  }

  /// The time of the last handled message.
  clock::time_point last_active() const noexcept {
    return clock::time_point{
        clock::duration{last_active_.load(std::memory_order_relaxed)}};
  }

  /// Returns whether the object handled nothing since `now - timeout`.
  bool idle_at(clock::time_point now, caf::timespan timeout) const noexcept;

  // -- object side ------------------------------------------------------------

  /// This object's storage.
  object_storage& storage() noexcept { return storage_; }

  /// Sends through `f` now, or after the writes made so far are durable.
  void send_gated(std::function<void()> f);

  /// Answers the request behind `rp` with `msg` through the output gate, in
  /// the name of `self` (this object). For replies delivered after the
  /// handler returned (see `durable::promise`).
  void reply_gated(caf::strong_actor_ptr self, caf::response_promise rp,
                   caf::message msg);

  /// Whether the current turn has output or writes that `end_turn` must
  /// settle.
  bool turn_pending() const noexcept {
    return storage_.turn_dirty() || gate_.turn_sent();
  }

  /// Makes this turn's output wait until every write made so far is durable,
  /// including writes that allowed unconfirmed output.
  void sync() noexcept { sync_requested_ = true; }

  /// Counts a promise that still owes an answer: the object is not idle
  /// while one is open (see `durable::promise`).
  void promise_opened() noexcept {
    promises_.fetch_add(1, std::memory_order_relaxed);
  }

  /// A promise counted by `promise_opened` was answered or dropped.
  void promise_settled() noexcept {
    promises_.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Stops taking work: requests queued for this instance are answered
  /// with `reason`, then it quits. For shutdown.
  void drain(caf::scheduled_actor* self, caf::error reason);

  /// Runs when the object's alarm is due. The alarm is deleted before this
  /// runs (set a new one here to repeat); if this throws, the deletion and
  /// all other writes of the turn are undone and the alarm is retried with
  /// exponential backoff (2 s, 4 s, ... at most 6 retries).
  virtual void alarm(const alarm_info& info);

protected:
  /// Wraps `user` so that each message is one turn: admitted, timed, guarded
  /// (a throwing handler answers the caller with `errc::exception_thrown`
  /// and its writes are dropped), committed, and answered through the gate.
  caf::behavior guard(caf::behavior user, caf::scheduled_actor* self);

  /// Seals the turn's writes, submits them, and sends the turn's output now
  /// or hands it to the commit writer to send once what it depends on is
  /// durable. `reply` is the handler's answer to the current message.
  void end_turn(caf::scheduled_actor* self, turn_reply* reply = nullptr);

  /// Default handler for messages outside the interface (reachable only
  /// through untyped paths such as the HTTP front door).
  static caf::result<caf::message> reject_unexpected(caf::scheduled_actor*,
                                                     caf::message_view&);

  /// Whether the object may be evicted now: nothing in flight, held or
  /// promised. Subclasses add what only they can see (queued messages,
  /// awaited responses).
  virtual bool may_evict() noexcept;

private:
  friend class guarded_behavior;

  void touch() noexcept {
    last_active_.store(clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  }

  void leave() noexcept;

  /// Handles an idle check: closes and quits if idle and nothing is queued.
  void on_idle_check(caf::scheduled_actor* self, caf::timespan timeout);

  /// Handles a due alarm: runs `alarm` unless the stored alarm changed
  /// since it was scheduled, or deletes it unrun when `drop` is set.
  caf::message on_alarm(int64_t scheduled, uint32_t retry, bool drop);

  /// Quits a broken instance once nothing is queued for it.
  void quit_if_drained(caf::scheduled_actor* self);

  /// Handles the failure of a commit: the instance breaks.
  void on_commit_failed(caf::scheduled_actor* self, const caf::error& err);

  // Small members first: they share one word after the vtable pointer.
  std::atomic<uint32_t> state_;
  std::atomic<uint32_t> promises_{0};
  queue_budget* budget_;
  object_metrics* metrics_;
  bool sync_requested_ = false;
  std::atomic<clock::rep> last_active_;
  object_storage storage_;
  std::shared_ptr<storage_engine> engine_;
  output_gate gate_;
  /// Set once a commit failed: the instance only drains its queue.
  caf::error broken_;
};

} // namespace durable
