#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace durable {

/// Selects a range of keys for `object_storage::list`. All bounds compare
/// keys as unsigned bytes; results always come in byte order (ascending, or
/// descending with `reverse`).
struct list_options {
  /// First key to include (inclusive). Excludes `start_after`.
  std::optional<std::string> start;

  /// Key after which to start (exclusive). Excludes `start`.
  std::optional<std::string> start_after;

  /// Key at which to stop (exclusive).
  std::optional<std::string> end;

  /// Only keys beginning with these bytes.
  std::optional<std::string> prefix;

  /// Descending order. The bounds keep their meaning: the result is the
  /// same key range, walked from its end.
  bool reverse = false;

  /// Largest number of results; must be positive when given.
  std::optional<int64_t> limit;
};

} // namespace durable
