#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "durable/catalog.hpp"

namespace durable::cluster {

/// The certificate, key and CA files of mutual TLS between nodes.
struct tls_files {
  std::string certificate; ///< PEM chain of this node.
  std::string key;         ///< PEM private key of `certificate`.
  std::string ca;          ///< PEM CA certificate(s) every peer must chain to.
};

/// Checks with OpenSSL what CAF's TLS layer would otherwise abort the
/// process on: each file readable, the certificate and key PEM and matching,
/// the CA file holding at least one certificate. Errors name the file.
caf::error check_tls_files(const tls_files& files);

/// What decides which node owns a named ID.
enum class coordinator_kind : uint8_t {
  /// Rendezvous hashing over the catalog: no coordination, no placement by
  /// first requester or hint.
  none,
  /// One claim per named ID in etcd, made on first access near the first
  /// requester or its location hint, cached for good.
  etcd,
};

/// How a node reaches its coordinator (`durable.cluster.*`).
struct coordinator_settings {
  coordinator_kind kind = coordinator_kind::none;
  /// etcd client URLs (`host:port` or `http://host:port`).
  std::vector<std::string> etcd_endpoints;
  /// Bound of one etcd call, fail-over included.
  caf::timespan etcd_timeout = std::chrono::seconds{5};
  /// Named IDs whose owner a node remembers (a miss costs one etcd read).
  size_t claim_cache = size_t{1} << 18;
  /// etcd calls in flight at once (one thread each).
  size_t claim_workers = 16;
  /// First accesses waiting for their claim, at most; more get
  /// `errc::overloaded`.
  size_t max_waiting_claims = 100000;
  /// Time to live of the node's lease in etcd.
  std::chrono::seconds lease_ttl{10};
};

/// A node's cluster settings, under `durable.cluster.*`:
///
/// | option              | meaning                                        |
/// |---------------------|------------------------------------------------|
/// | catalog             | the catalog file (JSON, see `catalog`)         |
/// | node                | this node's name in the catalog                |
/// | tls.certificate     | this node's PEM certificate chain              |
/// | tls.key             | its private key                                |
/// | tls.ca              | the cluster's CA file                          |
/// | heartbeat-interval  | BASP heartbeat (default 500ms)                 |
/// | connection-timeout  | silence that drops a link (default 4s, ≥ 6×)   |
/// | dial-timeout        | bound on one dial and hello (default 3s)       |
/// | coordinator         | `none` (default) or `etcd`                     |
/// | etcd-endpoints      | etcd client URLs, for `etcd`                   |
/// | etcd-timeout        | bound of one etcd call (default 5s)            |
/// | claim-cache         | named IDs whose owner is cached (default 2^18) |
/// | claim-workers       | etcd calls in flight (default 16)              |
/// | max-waiting-claims  | first accesses waiting (default 100000)        |
/// | lease-ttl           | the node's etcd lease (default 10s)            |
struct cluster_settings {
  catalog nodes;
  uint16_t self = 0; ///< This node's number.
  tls_files tls;
  caf::timespan heartbeat_interval = std::chrono::milliseconds{500};
  caf::timespan connection_timeout = std::chrono::seconds{4};
  caf::timespan dial_timeout = std::chrono::seconds{3};
  coordinator_settings coordinator;

  /// This node's catalog entry.
  const node_entry& self_entry() const { return *nodes.find(self); }
};

/// Declares the `durable.cluster.*` options.
void add_options(caf::config_option_set& opts);

/// Whether `cfg` asks for a cluster (`durable.cluster.catalog` is set).
bool enabled(const caf::actor_system_config& cfg);

/// Reads and checks the cluster settings of `cfg` (catalog, node, TLS files)
/// and sets up CAF for them: loads the middleman and the OpenSSL module,
/// passes the TLS files on, turns BASP heartbeats on and automatic
/// connections off (they open a plain-TCP BASP port). Call after parsing
/// and before the actor system is made; also sets `durable.location` and
/// `durable.jurisdictions` from the node's catalog entry.
caf::expected<cluster_settings> prepare(caf::actor_system_config& cfg);

} // namespace durable::cluster
