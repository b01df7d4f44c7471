#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "durable/cluster_messages.hpp"
#include "durable/cluster_node.hpp"
#include "durable/cluster_settings.hpp"
#include "hello_auth.hpp"

namespace durable::cluster {

/// A message of this process for an object on another node:
/// `(out_atom, uint16_t node, std::string ns_key, object_id id, uint8_t hint,
///   caf::strong_actor_ptr sender, caf::message_id mid, caf::message msg)`.
using out_atom = caf::atom_constant<caf::atom("dc_out")>;

/// Dial a peer: `(dial_atom, uint16_t number)`.
using dial_atom = caf::atom_constant<caf::atom("dc_dial")>;

/// A dial ended: `(dialed_atom, uint16_t number, caf::actor router)` or
/// `(dialed_atom, uint16_t number, caf::error)`.
using dialed_atom = caf::atom_constant<caf::atom("dc_dialed")>;

/// Start: `(start_atom, names, keys)` of the bound namespaces, then dial.
using start_atom = caf::atom_constant<caf::atom("dc_start")>;

/// Use a claims actor for named IDs without a cached owner:
/// `(claims_atom, caf::actor)`.
using claims_atom = caf::atom_constant<caf::atom("dc_claims")>;

/// Stop: answer every request in flight with `unavailable` and quit.
using stop_atom = caf::atom_constant<caf::atom("dc_stop")>;

/// What a node's router needs.
struct router_config {
  cluster_settings cfg;
  hello_key key;
  /// This node's hello without router and MAC (filled per link).
  hello mine;
  std::shared_ptr<link_table> links;
  /// Requests in flight to all peers together at most; beyond it callers
  /// get `errc::overloaded`.
  size_t max_in_flight = 1000000;
};

/// Spawns the router: it takes the forwards of authenticated peers, sends
/// this node's to theirs, keeps the requests in flight per peer and answers
/// them when a link goes down, and dials the peers with higher numbers.
caf::actor spawn_router(caf::actor_system& sys, router_config cfg);

} // namespace durable::cluster
