#pragma once

#include <chrono>
#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_handle.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "durable/actor_thread.hpp"
#include "durable/errc.hpp"
#include "durable/namespace_core.hpp"
#include "durable/object_id.hpp"
#include "durable/object_namespace.hpp"
#include "durable/object_runtime.hpp"
#include "durable/promise.hpp"
#include "durable/websocket_set.hpp"

namespace durable {

namespace detail {

template <class...>
constexpr bool always_false = false;

} // namespace detail

template <class Interface>
class object;

/// Base class of durable objects with the typed CAF interface
/// `caf::typed_actor<Sigs...>`. Write `make_behavior()` as for a typed CAF
/// actor and inherit the constructor:
///
/// ~~~
/// class counter : public durable::object<counter_api> {
/// public:
///   using object::object;
///   behavior_type make_behavior() override { ... }
/// };
/// ~~~
///
/// The runtime spawns the object on the first message to its ID and runs one
/// message at a time. A handler that throws answers the caller with an
/// `errc::exception_thrown` error and the object keeps serving. Objects are
/// addressed through stubs only (never hand out `this` as an actor handle),
/// and should not call `become`: it would bypass the runtime's guard.
template <class... Sigs>
class object<caf::typed_actor<Sigs...>>
    : public caf::typed_event_based_actor<Sigs...>, public object_runtime {
public:
  // -- member types -----------------------------------------------------------

  using super = caf::typed_event_based_actor<Sigs...>;

  using interface_type = caf::typed_actor<Sigs...>;

  using behavior_type = typename super::behavior_type;

  using namespace_type = object_namespace<interface_type>;

  using stub_type = stub<interface_type>;

  // -- constructors -----------------------------------------------------------

  object(caf::actor_config& cfg, object_context ctx)
      : super(cfg),
        object_runtime(std::move(ctx.storage), std::move(ctx.engine),
                       ctx.budget, ctx.metrics),
        id_(std::move(ctx.id)),
        ns_(std::move(ctx.ns)),
        hint_(ctx.hint) {
    this->set_default_handler(&object_runtime::reject_unexpected);
    // Shutdown answers what is queued for this instance, then quits.
    this->set_exit_handler([this](caf::exit_msg& msg) {
      if (msg.reason == caf::exit_reason::user_shutdown)
        this->drain(this, make_error(errc::unavailable,
                                     "the deployment is shutting down"));
      else
        this->quit(std::move(msg.reason));
    });
  }

  // -- properties -------------------------------------------------------------

  /// This object's ID.
  const object_id& id() const noexcept { return id_; }

  /// The namespace this object belongs to (the root namespace).
  namespace_type ns() const { return namespace_type{ns_}; }

  /// A stub to this object, for handing to other objects.
  stub_type self_stub() const { return stub_type{id_, ns_}; }

  /// The WebSockets this object accepted (see `durable::accept_websocket`):
  /// list them, send to them, close them. They stay open while the object
  /// is evicted, and the next instance finds them here.
  websocket_set websockets() { return websocket_set{id_, *this}; }

  /// The location hint given with the access that created this object.
  location_hint hint() const noexcept { return hint_; }

  const char* name() const override { return "durable_object"; }

  /// Makes a promise for the current request whose `deliver` passes the
  /// output gate: use it instead of `make_response_promise` when the answer
  /// comes later (say, from a response handler) and may follow writes.
  template <class... Ts>
  durable::promise<Ts...> make_gated_promise() {
    return durable::promise<Ts...>{
        this, this->ctrl(), super::template make_response_promise<Ts...>()};
  }

  // -- output (every way out passes the output gate) --------------------------

  /// Sends `xs...` to the actor `dest` once the writes made so far are
  /// durable (CAF's `send`, gated).
  template <caf::message_priority P = caf::message_priority::normal, class Dest,
            class... Ts>
  void send(const Dest& dest, Ts&&... xs) {
    send_to(dest, caf::make_message_id(P), this->ctrl(),
            caf::make_message(std::forward<Ts>(xs)...));
  }

  /// Sends `xs...` to `dest` without a sender once the writes made so far
  /// are durable.
  template <caf::message_priority P = caf::message_priority::normal, class Dest,
            class... Ts>
  void anon_send(const Dest& dest, Ts&&... xs) {
    send_to(dest, caf::make_message_id(P), nullptr,
            caf::make_message(std::forward<Ts>(xs)...));
  }

  /// CAF's `request` with the request held until the writes made so far are
  /// durable; the timeout runs from now.
  template <caf::message_priority P = caf::message_priority::normal,
            class Handle, class... Ts>
  caf::response_handle<
      object,
      caf::response_type_t<typename Handle::signatures,
                           caf::detail::implicit_conversions_t<
                               typename std::decay<Ts>::type>...>,
      false>
  request(const Handle& dest, const caf::duration& timeout, Ts&&... xs) {
    auto mid = this->new_request_id(P);
    send_to(dest, mid, this->ctrl(),
            caf::make_message(std::forward<Ts>(xs)...));
    this->request_response_timeout(timeout, mid);
    return {mid.response_id(), this};
  }

  template <caf::message_priority P = caf::message_priority::normal,
            class Handle, class Rep, class Period, class... Ts>
  auto request(const Handle& dest, std::chrono::duration<Rep, Period> timeout,
               Ts&&... xs) {
    return request<P>(dest, caf::duration{timeout}, std::forward<Ts>(xs)...);
  }

  // The ways out that cannot wait for a commit do not compile in an object.
  template <class... Ts, class... Args>
  void make_response_promise(Args&&...) {
    static_assert(detail::always_false<Ts..., Args...>,
                  "durable::object: make_response_promise bypasses the "
                  "output gate; use make_gated_promise");
  }

  template <class... Ts, class... Args>
  void response(Args&&...) {
    static_assert(detail::always_false<Ts..., Args...>,
                  "durable::object: response bypasses the output gate; "
                  "return the value or use make_gated_promise");
  }

  template <class... Ts>
  void delegate(Ts&&...) {
    static_assert(detail::always_false<Ts...>,
                  "durable::object: delegate bypasses the output gate; "
                  "request through a stub and answer with make_gated_promise");
  }

  template <class... Ts>
  void delayed_send(Ts&&...) {
    static_assert(detail::always_false<Ts...>,
                  "durable::object: timers do not survive eviction; set an "
                  "alarm (storage().set_alarm) instead");
  }

  template <class... Ts>
  void delayed_anon_send(Ts&&...) {
    static_assert(detail::always_false<Ts...>,
                  "durable::object: timers do not survive eviction; set an "
                  "alarm (storage().set_alarm) instead");
  }

  template <class... Ts>
  void scheduled_send(Ts&&...) {
    static_assert(detail::always_false<Ts...>,
                  "durable::object: timers do not survive eviction; set an "
                  "alarm (storage().set_alarm) instead");
  }

  template <class... Ts>
  void scheduled_anon_send(Ts&&...) {
    static_assert(detail::always_false<Ts...>,
                  "durable::object: timers do not survive eviction; set an "
                  "alarm (storage().set_alarm) instead");
  }

  // -- overrides --------------------------------------------------------------

  void initialize() override {
    // Mirrors typed_event_based_actor::initialize, with the runtime's guard
    // around the user's behavior.
    caf::scheduled_actor::initialize();
    this->setf(caf::abstract_actor::is_initialized_flag);
    auto bhvr = this->make_behavior();
    if (bhvr)
      this->do_become(this->guard(std::move(bhvr.unbox()), this), true);
  }

  /// Tells the namespace that this instance is gone, so that the next
  /// message spawns a new one. Final: the runtime depends on it.
  bool cleanup(caf::error&& reason, caf::execution_unit* host) final {
    this->close_for_good();
    ns_->forget(id_, this->ctrl()->id());
    return super::cleanup(std::move(reason), host);
  }

  /// Settles writes and output of code outside a handler turn (e.g. a
  /// response handler).
  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    actor_thread_scope scope{this};
    auto result = super::consume(x);
    if (this->turn_pending())
      this->end_turn(this);
    return result;
  }

protected:
  /// Adds what only the actor sees: nothing queued in its mailbox and no
  /// response it waits for (its handler would run, and write, later).
  bool may_evict() noexcept override {
    // Reads the response maps of CAF's scheduled_actor (protected members):
    // the one place the runtime looks inside CAF's actor.
    return this->awaited_responses_.empty() &&
           this->multiplexed_responses_.empty() && this->mailbox().empty() &&
           object_runtime::may_evict() && !ns_->routing(id_);
  }

private:
  /// Enqueues `msg` to `dest` now or, behind pending writes, from the
  /// commit writer once they are durable.
  template <class Dest>
  void send_to(const Dest& dest, caf::message_id mid, caf::strong_actor_ptr src,
               caf::message msg) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(dest);
    if (!ptr) {
      if (mid.is_request())
        this->eq_impl(mid.response_id(), this->ctrl(), this->context(),
                      make_error(errc::invalid_argument,
                                 "request to an invalid actor handle"));
      return;
    }
    this->send_gated([ptr = std::move(ptr), src = std::move(src), mid,
                      msg = std::move(msg)]() mutable {
      ptr->enqueue(
          caf::make_mailbox_element(std::move(src), mid, {}, std::move(msg)),
          nullptr);
    });
  }

  object_id id_;
  std::shared_ptr<namespace_core> ns_;
  location_hint hint_;
};

} // namespace durable
