#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>

namespace durable {

/// Output of a turn that waits for a commit: the handler's reply (if any)
/// and the messages the turn sent through stubs. The commit writer's thread
/// releases it, so that held output leaves right after the fsync, without
/// another turn of the object.
class held_output {
public:
  using send_function = std::function<void()>;

  held_output() = default;

  held_output(caf::strong_actor_ptr sender, std::vector<send_function> sends)
      : sender_(std::move(sender)), sends_(std::move(sends)) {
    // nop
  }

  /// Adds the reply `msg` (or `err` if set) to the request behind `rp`.
  void set_reply(caf::response_promise rp, caf::message msg, caf::error err) {
    rp_ = std::move(rp);
    msg_ = std::move(msg);
    err_ = std::move(err);
  }

  /// Whether a request awaits the reply this output carries.
  bool replies() const noexcept { return rp_.pending(); }

  /// The error this output answers its request with, if it carries one.
  const caf::error* reply_error() const noexcept {
    return rp_.pending() && err_ ? &err_ : nullptr;
  }

  /// Sends everything, from any thread (messages first, then the reply).
  void release();

  /// The commit failed: answers the reply with `err` and drops the messages
  /// (they must never leave). Any thread.
  void fail(const caf::error& err);

  /// Answers the request behind `rp` with `msg` in the name of `sender`,
  /// from any thread (CAF's `deliver` needs the promise owner's thread).
  static void respond(const caf::strong_actor_ptr& sender,
                      caf::response_promise& rp, caf::message msg);

private:
  caf::strong_actor_ptr sender_;
  caf::response_promise rp_;
  caf::message msg_;
  caf::error err_;
  std::vector<send_function> sends_;
};

/// Decides whether an object's output may leave now or must wait until the
/// writes that precede it are durable (Cloudflare's output gate). Writes
/// raise a barrier (their sequence number); output produced while the
/// barrier is above the object's last durable sequence number, or while
/// earlier output still waits, is handed to the commit writer together with
/// a write set and released in commit order. Single-threaded: lives inside
/// one object actor; costs three words while the object is idle.
class output_gate {
public:
  // -- member types -----------------------------------------------------------

  using send_function = held_output::send_function;

  // -- properties -------------------------------------------------------------

  /// The sequence number output must wait for (0: nothing).
  uint64_t barrier() const noexcept { return barrier_; }

  /// Returns whether output produced now would have to wait, given the last
  /// durable sequence number of the object.
  bool closed(uint64_t durable) const noexcept {
    return barrier_ > durable || held_until_ > durable;
  }

  /// Returns whether output handed to the writer may still be unreleased.
  bool holding(uint64_t durable) const noexcept {
    return held_until_ > durable || !turn_sends_.empty();
  }

  /// Returns whether the current turn sent messages.
  bool turn_sent() const noexcept { return !turn_sends_.empty(); }

  // -- modifiers --------------------------------------------------------------

  /// Raises the barrier: output from now on waits for commit `seq`.
  void raise(uint64_t seq) noexcept {
    if (seq > barrier_)
      barrier_ = seq;
  }

  /// Queues an outgoing message produced during the current turn.
  void send_in_turn(send_function f) { turn_sends_.push_back(std::move(f)); }

  /// Sends the current turn's messages now (the gate is open).
  void release_turn();

  /// Moves the current turn's messages into held output that waits for
  /// commit `seq` (the caller hands it to the writer with that write set).
  held_output hold_turn(caf::strong_actor_ptr sender, uint64_t seq);

  /// Drops the current turn's messages (the object is broken).
  void drop_turn() noexcept { turn_sends_.clear(); }

private:
  uint64_t barrier_ = 0;
  /// The write set that carries the latest held output.
  uint64_t held_until_ = 0;
  std::vector<send_function> turn_sends_;
};

} // namespace durable
