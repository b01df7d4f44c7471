#pragma once

// A node's liveness in etcd: one key per node number holding the running
// incarnation, attached to a lease that the node keeps alive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace durable::etcd {
class client;
} // namespace durable::etcd

namespace durable::cluster {

struct lease_config {
  std::shared_ptr<etcd::client> etcd;
  /// The node's key, e.g. `/caf-durable/<cluster>/nodes/3`.
  std::string key;
  /// This process's incarnation, as the key's value.
  std::string incarnation;
  std::chrono::seconds ttl{10};
  /// How long `acquire_node_lease` waits for an older incarnation's lease.
  std::chrono::milliseconds wait_limit{30000};
};

/// Creates the node's key for this incarnation with a fresh lease. While
/// another incarnation's key exists (a process that died moments ago and
/// whose lease has not expired, or one still running), waits for it to go,
/// for at most `wait_limit`: `errc::unavailable` naming the holder then, or
/// etcd's error. Blocks the calling thread. Returns the lease ID.
caf::expected<int64_t> acquire_node_lease(const lease_config& cfg);

/// Spawns a detached actor that renews `lease` every third of its TTL. When
/// the lease expired anyway (etcd or this process was unreachable too long)
/// it creates the key again; when another incarnation holds it by then, it
/// calls `lost` once with the reason and stops. `stop_atom` (router.hpp)
/// revokes the lease, so a restart does not wait for it, and quits.
caf::actor spawn_lease_keeper(caf::actor_system& sys, lease_config cfg,
                              int64_t lease,
                              std::function<void(const std::string&)> lost);

} // namespace durable::cluster
