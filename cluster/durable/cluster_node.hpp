#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "durable/cluster_settings.hpp"
#include "durable/deployment.hpp"
#include "durable/placement.hpp"
#include "durable/remote_routing.hpp"

namespace durable::etcd {
class client;
} // namespace durable::etcd

namespace durable::cluster {

class claim_cache;

/// One link to a peer node as this node sees it.
struct link_state {
  uint16_t number = 0;
  std::string name;
  bool up = false;
  uint64_t incarnation = 0; ///< The peer's, once a hello verified.
  uint64_t in_flight = 0;   ///< Requests to the peer awaiting replies.
  uint64_t downs = 0;       ///< How often the link went down.
  std::string last_error;   ///< Why the link last failed, if it did.
};

/// The links of a node, written by its router and read by anyone.
class link_table {
public:
  void update(const link_state& x);

  std::vector<link_state> snapshot() const;

  /// Whether the link to node `number` is up.
  bool up(uint16_t number) const;

private:
  mutable std::mutex mtx_;
  std::vector<link_state> links_;
};

/// This process as one node of a cluster: routes the objects other nodes
/// own to them over BASP with mutual TLS, and takes theirs. Lifecycle:
/// `attach` to a deployment before binding namespaces, bind, then `start`.
class node final : public remote_routing {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// Makes the node and attaches it to `dep` as its remote routing.
  static caf::expected<std::shared_ptr<node>>
  attach(caf::actor_system& sys, deployment& dep, cluster_settings cfg);

  ~node() override;

  /// Publishes this node's router on its BASP address (TLS) and dials the
  /// peers with higher numbers (each pair of nodes shares one link, made by
  /// the lower number). Call after binding the namespaces: the hello lists
  /// them. With etcd as coordinator, first takes the node's lease key, which
  /// may wait up to twice the lease TTL for an older incarnation's lease to
  /// expire (blocks the calling thread).
  caf::error start();

  /// Stops the router: in-flight requests to peers get `unavailable`.
  void stop();

  // -- properties -------------------------------------------------------------

  const cluster_settings& settings() const noexcept { return cfg_; }

  const placement& places() const noexcept { return places_; }

  /// The links to every peer.
  std::vector<link_state> links() const { return links_->snapshot(); }

  /// The catalog, the links and `load` as JSON, for `/admin/cluster`.
  std::string status_json(const deployment::load& load) const;

  /// The port the router listens on (after `start`).
  uint16_t port() const noexcept { return port_; }

  /// Named IDs whose owner this node has cached (etcd mode; else 0).
  size_t cached_claims() const noexcept;

  // -- remote_routing ---------------------------------------------------------

  uint16_t owner(const object_id& id) const noexcept override;

  caf::expected<uint16_t> place_unique(jurisdiction j,
                                       location_hint hint) const override;

  void forward(uint16_t node, const std::string& ns_key, const object_id& id,
               location_hint hint, caf::strong_actor_ptr sender,
               caf::message_id mid, caf::message msg,
               caf::execution_unit* ctx) const override;

private:
  node(caf::actor_system& sys, deployment& dep, cluster_settings cfg,
       std::shared_ptr<etcd::client> etcd);

  /// The etcd key prefix of this cluster: `/caf-durable/<cluster>/`.
  std::string etcd_prefix() const;

  caf::actor_system& sys_;
  deployment& dep_;
  cluster_settings cfg_;
  placement places_;
  std::shared_ptr<link_table> links_;
  /// Spawned on construction, so `forward` never sees it change; after
  /// `stop` it is gone and CAF bounces requests to it.
  caf::actor router_;
  /// This process's incarnation (random; in hellos and the lease key).
  uint64_t incarnation_ = 0;
  // -- etcd mode only (else null) --
  std::shared_ptr<etcd::client> etcd_;
  std::shared_ptr<claim_cache> claims_cache_;
  caf::actor claims_;
  caf::actor lease_keeper_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

} // namespace durable::cluster
