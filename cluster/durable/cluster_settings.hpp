#pragma once

#include <chrono>
#include <string>

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
struct cluster_settings {
  catalog nodes;
  uint16_t self = 0; ///< This node's number.
  tls_files tls;
  caf::timespan heartbeat_interval = std::chrono::milliseconds{500};
  caf::timespan connection_timeout = std::chrono::seconds{4};
  caf::timespan dial_timeout = std::chrono::seconds{3};

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
