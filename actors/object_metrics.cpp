#include "durable/object_metrics.hpp"

namespace durable {

const char* to_string(overload_reason x) noexcept {
  switch (x) {
  case overload_reason::object_queue:
    return "object_queue";
  case overload_reason::node_queue:
    return "node_queue";
  case overload_reason::live_objects:
    return "live_objects";
  }
  return "unknown";
}

const char* object_metrics::error_kind(size_t slot) noexcept {
  if (slot == 0 || slot >= error_slots)
    return "other";
  return to_string(static_cast<errc>(slot));
}

object_metrics& object_metrics::unbound() noexcept {
  static object_metrics instance;
  return instance;
}

} // namespace durable
