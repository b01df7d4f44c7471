#pragma once

// Renders a deployment's figures (internal to the deployment): what its
// namespaces, its node limits and its storage environments recorded.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "durable/metrics_text.hpp"

namespace durable {

class namespace_core;
class storage_engine;
struct node_limits;

/// What `write_deployment_metrics` reads; gathered under the deployment's
/// lock, rendered without it.
struct metrics_sources {
  /// The bound namespaces with the names they were bound by.
  std::vector<std::pair<std::string, std::shared_ptr<namespace_core>>>
      namespaces;
  std::shared_ptr<const node_limits> limits;
  std::shared_ptr<const storage_engine> engine;
};

/// Writes the `durable_*` families of `src` to `out`. Reads atomics only:
/// no actor is asked, no lock of the runtime taken.
void write_deployment_metrics(metrics_text& out, const metrics_sources& src);

} // namespace durable
