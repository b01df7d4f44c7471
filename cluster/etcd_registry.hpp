#pragma once

// Internal header of the cluster layer: the shared namespace registry's log
// in etcd (see durable/etcd_registry.hpp for the keys).

#include <memory>
#include <string>

#include "durable/etcd_client.hpp"
#include "durable/registry_log.hpp"

namespace durable::cluster {

/// The registry log under `prefix` (`/caf-durable/<cluster>/registry/`),
/// through `etcd`.
std::shared_ptr<registry_log>
make_etcd_registry_log(std::shared_ptr<etcd::client> etcd, std::string prefix);

} // namespace durable::cluster
