#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/object_id.hpp"

namespace durable {

/// How a deployment reaches objects that other nodes own. `namespace/` owns
/// this interface and calls it; a cluster layer implements it and is
/// attached with `deployment::attach`. Without one, every object is local.
/// All members are called from any thread and must not block.
class remote_routing {
public:
  /// The owner value that means "this node".
  static constexpr uint16_t local = 0;

  /// The owner value that means "not known yet": the routing must look the
  /// owner up (in a coordinator) before anything is delivered. `route` hands
  /// such messages to `forward` like any other, and the routing delivers
  /// them, locally (through the namespace's `route_local`) or to their
  /// owner, once it knows; a node number never takes this value.
  static constexpr uint16_t unresolved = 0xFFFF;

  virtual ~remote_routing();

  /// The node that owns `id`: `local`, or the number of another node. An ID
  /// that no node may hold is local too: the local spawn refuses it with a
  /// clear error.
  virtual uint16_t owner(const object_id& id) const noexcept = 0;

  /// The placement tag of a new unique ID of jurisdiction `j`, placed near
  /// `hint` (`none`: near this node).
  virtual caf::expected<uint16_t> place_unique(jurisdiction j,
                                               location_hint hint) const = 0;

  /// Delivers `msg` for object `id` of namespace `ns_key` to node `node`
  /// (or, for `unresolved`, to the owner once it is known).
  /// The reply, or a retryable `errc::unavailable` when the node cannot be
  /// reached or its link goes down first, reaches `sender` as the response
  /// to `mid` (nothing, for an asynchronous message).
  virtual void forward(uint16_t node, const std::string& ns_key,
                       const object_id& id, location_hint hint,
                       caf::strong_actor_ptr sender, caf::message_id mid,
                       caf::message msg, caf::execution_unit* ctx) const = 0;
};

/// Answers request `mid` of `to` with `msg` (an error or a reply), from any
/// thread; nothing for an asynchronous message or without a sender. For
/// `remote_routing::forward` implementations and the runtime.
void answer(const caf::strong_actor_ptr& to, caf::message_id mid,
            caf::message msg, caf::execution_unit* ctx);

} // namespace durable
