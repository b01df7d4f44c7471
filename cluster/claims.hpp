#pragma once

// Named IDs placed by claims in etcd: the actor that resolves their owners.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "claim_cache.hpp"
#include "durable/catalog.hpp"

namespace durable::etcd {
class client;
} // namespace durable::etcd

namespace durable {
class storage_engine;
} // namespace durable

namespace durable::cluster {

class link_table;

/// A message for a named object whose owner is not cached:
/// `(resolve_atom, std::string ns_key, object_id id, uint8_t hint,
///   caf::strong_actor_ptr sender, caf::message_id mid, caf::message msg,
///   bool from_peer)`. `from_peer`: a peer's router sent it here as the
/// owner, so it is delivered only if this node's claim says so.
using resolve_atom = caf::atom_constant<caf::atom("dc_resolve")>;

/// What the claims actor needs.
struct claims_config {
  uint16_t self = 0;
  catalog nodes;
  /// The etcd key of a named ID is this prefix and its 64 hex digits.
  std::string prefix;
  std::shared_ptr<claim_cache> cache;
  std::shared_ptr<etcd::client> etcd;
  /// Which peers are reachable (candidates for new claims).
  std::shared_ptr<const link_table> links;
  /// Delivers to other nodes (`out_atom`).
  caf::actor router;
  /// Where this node records the claims it holds (meta key `claim/<hex>`
  /// in the environment of the ID's jurisdiction), so that it needs no etcd
  /// read for them after a restart; null: no records.
  std::shared_ptr<storage_engine> engine;
  /// etcd calls in flight at once.
  size_t workers = 16;
  /// Messages waiting for claims, at most.
  size_t max_waiting = 100000;
};

/// Spawns the claims actor. For each named ID it is asked about that this
/// node has not recorded as its own, it makes
/// one etcd transaction (one per ID, however many messages wait for it) on
/// a pool of detached workers: create the claim naming the node chosen by
/// `placement::place_named` unless one exists, else read it. It caches the
/// owner and delivers the waiting messages: to the local namespace, or to
/// the owner through the router. A failed call answers them with its
/// (retryable) error: nothing is delivered on a guess. `stop_atom` (see
/// router.hpp) answers what waits with `unavailable` and quits.
caf::actor spawn_claims(caf::actor_system& sys, claims_config cfg);

} // namespace durable::cluster
