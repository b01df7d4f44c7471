#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "durable/registry_log.hpp"

namespace durable::cluster {

/// The shared namespace registry of cluster `cluster_name` in etcd (at
/// `endpoints`, each call bounded by `timeout`), for
/// `deployment::share_registry` and `durable-admin`. A node with
/// `durable.cluster.coordinator=etcd` shares its registry this way by
/// itself (`node::attach`).
///
/// Keys, under `/caf-durable/<cluster>/registry/`: `head` holds the number
/// of entries (appends compare its modification revision), `log/<20-digit
/// number>` each entry, and `tags/<tag>` the entry that claimed a migration
/// tag (created only if absent, in the same transaction as the entry).
caf::expected<std::shared_ptr<registry_log>>
etcd_registry_log(std::vector<std::string> endpoints,
                  std::chrono::milliseconds timeout, std::string cluster_name);

} // namespace durable::cluster
