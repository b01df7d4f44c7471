#include "durable/output_gate.hpp"

namespace durable {

void output_gate::deliver(held_reply& x) {
  if (x.err)
    x.rp.deliver(std::move(x.err));
  else if (!x.msg.empty() || !x.rp.async())
    // Like CAF: an empty result of an async message produces no message.
    x.rp.deliver(std::move(x.msg));
}

void output_gate::end_turn() {
  if (turn_sends_.empty())
    return;
  if (!closed()) {
    for (auto& f : turn_sends_)
      f();
  } else {
    for (auto& f : turn_sends_)
      sends_.push_back(held_send{barrier_, std::move(f)});
  }
  turn_sends_.clear();
}

void output_gate::reply(caf::response_promise rp, caf::message msg) {
  held_reply x{barrier_, std::move(rp), std::move(msg), caf::error{}};
  if (closed())
    replies_.push_back(std::move(x));
  else
    deliver(x);
}

void output_gate::reply(caf::response_promise rp, caf::error err) {
  held_reply x{barrier_, std::move(rp), caf::message{}, std::move(err)};
  if (closed())
    replies_.push_back(std::move(x));
  else
    deliver(x);
}

void output_gate::confirm(uint64_t seq) {
  if (seq > confirmed_)
    confirmed_ = seq;
  // Sequence numbers grow along each queue, so release from the front.
  while (replies_head_ < replies_.size() &&
         replies_[replies_head_].seq <= confirmed_)
    deliver(replies_[replies_head_++]);
  if (replies_head_ == replies_.size()) {
    replies_.clear();
    replies_head_ = 0;
  }
  while (sends_head_ < sends_.size() && sends_[sends_head_].seq <= confirmed_)
    sends_[sends_head_++].fn();
  if (sends_head_ == sends_.size()) {
    sends_.clear();
    sends_head_ = 0;
  }
}

void output_gate::fail(const caf::error& err) {
  for (auto i = replies_head_; i < replies_.size(); ++i)
    replies_[i].rp.deliver(err);
  replies_.clear();
  replies_head_ = 0;
  sends_.clear();
  sends_head_ = 0;
  turn_sends_.clear();
}

} // namespace durable
