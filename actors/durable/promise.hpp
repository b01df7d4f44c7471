#pragma once

#include <utility>

#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/typed_response_promise.hpp>

#include "durable/object_runtime.hpp"

namespace durable {

/// A response promise of a durable object whose `deliver` passes the output
/// gate: the answer leaves only once the writes made before `deliver` are
/// durable, like a handler's return value. Make it with
/// `object::make_gated_promise<Ts...>()`, return it from the handler (as
/// `caf::typed_response_promise<Ts...>`: the answer comes later) and call
/// `deliver` from this object's own handlers, e.g. a response handler:
///
/// ~~~
/// [this](relay_atom, counter_stub other)
///     -> caf::typed_response_promise<int64_t> {
///   auto rp = make_gated_promise<int64_t>();
///   other.request(this, 10s, inc_atom::value)
///       .then([this, rp](int64_t x) mutable {
///         storage().put_value("seen", x);
///         rp.deliver(x); // held until "seen" is durable
///       });
///   return rp;
/// }
/// ~~~
template <class... Ts>
class promise {
public:
  promise() = default;

  promise(object_runtime* rt, caf::strong_actor_ptr self,
          caf::typed_response_promise<Ts...> rp)
      : rt_(rt), self_(std::move(self)), rp_(std::move(rp)) {
    // nop
  }

  /// Answers with `xs...` once the writes made so far are durable.
  template <class... Us>
  void deliver(Us&&... xs) {
    static_assert(sizeof...(Us) == sizeof...(Ts),
                  "deliver the values the promise was made for");
    send(caf::make_message(Ts{std::forward<Us>(xs)}...));
  }

  /// Answers with `err` once the writes made so far are durable.
  void deliver(caf::error err) { send(caf::make_message(std::move(err))); }

  /// Whether the promise still has a request to answer.
  bool pending() const { return rp_.pending(); }

  /// What the handler that made the promise returns: "answered later".
  operator caf::typed_response_promise<Ts...>() const { return rp_; }

private:
  void send(caf::message msg) {
    if (rt_ == nullptr)
      return;
    rt_->reply_gated(self_, rp_, std::move(msg));
    // Answered: a second deliver sends nothing (copies share nothing).
    rt_ = nullptr;
    rp_ = caf::typed_response_promise<Ts...>{};
  }

  object_runtime* rt_ = nullptr;
  caf::strong_actor_ptr self_;
  caf::typed_response_promise<Ts...> rp_;
};

} // namespace durable
