#pragma once

#include <memory>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/typed_response_promise.hpp>

#include "durable/errc.hpp"
#include "durable/object_runtime.hpp"
#include "durable/output_gate.hpp"

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
      : state_(std::make_shared<state>(rt, std::move(self), std::move(rp))) {
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
  bool pending() const { return state_ && state_->rp.pending(); }

  /// What the handler that made the promise returns: "answered later".
  operator caf::typed_response_promise<Ts...>() const {
    return state_ ? state_->rp : caf::typed_response_promise<Ts...>{};
  }

private:
  /// Shared by all copies: the first `deliver` answers, later ones send
  /// nothing. While unanswered, the object counts it as work in progress
  /// (it is not evicted as idle); dropped unanswered (also when the object
  /// ends with the promise in a member), it answers with an error so that
  /// the caller does not wait for its timeout. Holds the object weakly: a
  /// promise kept by the object itself must not keep it alive. A promise
  /// for an asynchronous message has nobody to answer.
  struct state {
    state(object_runtime* r, caf::strong_actor_ptr s,
          caf::typed_response_promise<Ts...> p)
        : rt(r),
          self(caf::actor_cast<caf::weak_actor_ptr>(s)),
          rp(std::move(p)) {
      if (rt != nullptr && rp.pending() && !as_untyped().async())
        rt->promise_opened();
      else
        rt = nullptr;
    }

    ~state() {
      if (rt == nullptr)
        return;
      auto owner = caf::actor_cast<caf::strong_actor_ptr>(self);
      caf::response_promise untyped = as_untyped();
      held_output::respond(
          owner, untyped,
          caf::make_message(make_error(
              errc::unavailable,
              "the Durable Object dropped a promise without answering")));
      if (owner)
        rt->promise_settled();
    }

    caf::response_promise& as_untyped() { return rp; }

    object_runtime* rt;
    caf::weak_actor_ptr self;
    caf::typed_response_promise<Ts...> rp;
  };

  void send(caf::message msg) {
    if (!state_ || state_->rt == nullptr)
      return;
    auto owner = caf::actor_cast<caf::strong_actor_ptr>(state_->self);
    if (!owner)
      return; // The object is gone; its end answered the caller.
    auto* rt = std::exchange(state_->rt, nullptr);
    rt->reply_gated(std::move(owner), std::move(state_->rp), std::move(msg));
    rt->promise_settled();
  }

  std::shared_ptr<state> state_;
};

} // namespace durable
