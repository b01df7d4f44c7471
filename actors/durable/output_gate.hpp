#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <caf/error.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>

namespace durable {

/// Holds an object's output (replies and outgoing messages) until the writes
/// that precede it are durable. Output is tagged with the sequence number of
/// the last write set it depends on and released in order once that commit
/// is confirmed. Single-threaded: lives inside one object actor.
class output_gate {
public:
  // -- member types -----------------------------------------------------------

  using send_function = std::function<void()>;

  // -- properties -------------------------------------------------------------

  /// The sequence number output must wait for (0: nothing).
  uint64_t barrier() const noexcept { return barrier_; }

  /// The last confirmed sequence number.
  uint64_t confirmed() const noexcept { return confirmed_; }

  /// Returns whether output produced now would have to wait.
  bool closed() const noexcept { return barrier_ > confirmed_; }

  /// Returns whether any output is held.
  bool holding() const noexcept {
    return replies_head_ < replies_.size() || sends_head_ < sends_.size() ||
           !turn_sends_.empty();
  }

  // -- modifiers --------------------------------------------------------------

  /// Raises the barrier: output from now on waits for commit `seq`.
  void raise(uint64_t seq) noexcept {
    if (seq > barrier_)
      barrier_ = seq;
  }

  /// Queues an outgoing message produced during the current turn; it is
  /// released or held when the turn ends (see `end_turn`).
  void send_in_turn(send_function f) { turn_sends_.push_back(std::move(f)); }

  /// Releases or holds the sends of the turn that just ended.
  void end_turn();

  /// Delivers `msg` through `rp` now if the gate is open, or holds it.
  void reply(caf::response_promise rp, caf::message msg);

  /// Delivers `err` through `rp` now if the gate is open, or holds it.
  void reply(caf::response_promise rp, caf::error err);

  /// Confirms every commit up to `seq` and releases what waited for it.
  void confirm(uint64_t seq);

  /// A commit failed: answers every held reply with `err` and drops every held
  /// message (they must never leave).
  void fail(const caf::error& err);

private:
  struct held_reply {
    uint64_t seq;
    caf::response_promise rp;
    caf::message msg;
    caf::error err;
  };

  struct held_send {
    uint64_t seq;
    send_function fn;
  };

  static void deliver(held_reply& x);

  // Vectors with a read position instead of deques: an idle object's gate
  // owns no heap memory (an empty std::deque allocates a chunk up front).
  uint64_t barrier_ = 0;
  uint64_t confirmed_ = 0;
  std::vector<held_reply> replies_;
  size_t replies_head_ = 0;
  std::vector<held_send> sends_;
  size_t sends_head_ = 0;
  std::vector<send_function> turn_sends_;
};

} // namespace durable
