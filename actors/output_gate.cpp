#include "durable/output_gate.hpp"

#include <caf/actor_control_block.hpp>
#include <caf/mailbox_element.hpp>

namespace durable {

// -- held_output --------------------------------------------------------------

void held_output::respond(const caf::strong_actor_ptr& sender,
                          caf::response_promise& rp, caf::message msg) {
  // Like response_promise::deliver, but without the promise's execution
  // unit: this may run on the commit writer's thread, where only the
  // scheduler's thread-safe enqueue may be used.
  auto stages = rp.stages();
  auto mid = rp.id();
  if (!stages.empty()) {
    auto next = std::move(stages.back());
    stages.pop_back();
    next->enqueue(caf::make_mailbox_element(rp.source(), mid, std::move(stages),
                                            std::move(msg)),
                  nullptr);
  } else if (auto& source = rp.source()) {
    source->enqueue(sender, mid.response_id(), std::move(msg), nullptr);
  }
  rp = caf::response_promise{};
}

void held_output::release() {
  for (auto& f : sends_)
    f();
  sends_.clear();
  if (!rp_.pending())
    return;
  if (err_)
    respond(sender_, rp_, caf::make_message(std::move(err_)));
  else if (!msg_.empty() || !rp_.async())
    // Like CAF: an empty result of an async message produces no message.
    respond(sender_, rp_, std::move(msg_));
}

void held_output::fail(const caf::error& err) {
  sends_.clear();
  if (rp_.pending())
    respond(sender_, rp_, caf::make_message(err));
}

// -- output_gate --------------------------------------------------------------

void output_gate::release_turn() {
  for (auto& f : turn_sends_)
    f();
  turn_sends_.clear();
}

held_output output_gate::hold_turn(caf::strong_actor_ptr sender, uint64_t seq) {
  held_until_ = seq;
  held_output result{std::move(sender), std::move(turn_sends_)};
  turn_sends_.clear();
  return result;
}

} // namespace durable
