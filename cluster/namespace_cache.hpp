#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "durable/namespace_core.hpp"
#include "durable/stub.hpp"

namespace durable::cluster {

/// The bound namespaces by unique key, as messages from peers name them,
/// cached by one actor (the process-wide lookup takes a global lock).
class namespace_cache {
public:
  /// The namespace bound under `key`, or null. Unknown keys are not cached,
  /// so hostile keys cannot grow the cache.
  std::shared_ptr<namespace_core> find(const std::string& key) {
    auto& slot = map_[key];
    auto core = slot.lock();
    if (!core) {
      core = detail::find_namespace(key);
      slot = core;
      if (!core)
        map_.erase(key);
    }
    return core;
  }

private:
  std::unordered_map<std::string, std::weak_ptr<namespace_core>> map_;
};

} // namespace durable::cluster
