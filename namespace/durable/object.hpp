#pragma once

#include <utility>

#include <caf/actor_config.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "durable/namespace_core.hpp"
#include "durable/object_id.hpp"
#include "durable/object_namespace.hpp"
#include "durable/object_runtime.hpp"
#include "durable/promise.hpp"

namespace durable {

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
        object_runtime(std::move(ctx.storage), std::move(ctx.engine)),
        id_(std::move(ctx.id)),
        ns_(std::move(ctx.ns)),
        hint_(ctx.hint) {
    this->set_default_handler(&object_runtime::reject_unexpected);
  }

  // -- properties -------------------------------------------------------------

  /// This object's ID.
  const object_id& id() const noexcept { return id_; }

  /// The namespace this object belongs to (the root namespace).
  namespace_type ns() const { return namespace_type{ns_}; }

  /// A stub to this object, for handing to other objects.
  stub_type self_stub() const { return stub_type{id_, ns_}; }

  /// The location hint given with the access that created this object.
  location_hint hint() const noexcept { return hint_; }

  const char* name() const override { return "durable_object"; }

  /// Makes a promise for the current request whose `deliver` passes the
  /// output gate: use it instead of `make_response_promise` when the answer
  /// comes later (say, from a response handler) and may follow writes.
  template <class... Ts>
  durable::promise<Ts...> make_gated_promise() {
    return durable::promise<Ts...>{
        this, this->ctrl(), this->template make_response_promise<Ts...>()};
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
    this->close();
    ns_->evicted(id_, this);
    return super::cleanup(std::move(reason), host);
  }

  /// Settles writes and output of code outside a handler turn (e.g. a
  /// response handler).
  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    auto result = super::consume(x);
    if (this->turn_pending())
      this->end_turn(this);
    return result;
  }

private:
  object_id id_;
  std::shared_ptr<namespace_core> ns_;
  location_hint hint_;
};

} // namespace durable
