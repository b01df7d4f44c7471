#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace durable {

/// Where a registry log ends: its last entry and a version for
/// compare-and-swap (opaque to callers; the store's revision of the head).
struct registry_head {
  /// Entries so far (the last entry's number; entries count from 1).
  uint64_t sequence = 0;
  /// Changes with every append; 0 for an empty log.
  int64_t version = 0;
};

/// One entry of a registry log: its number and its text (JSON written and
/// read by `shared_registry`).
struct registry_entry {
  uint64_t sequence = 0;
  std::string text;
};

/// The entries after a position, and the head they lead to.
struct registry_read {
  registry_head head;
  std::vector<registry_entry> entries;
};

/// The cluster-wide history of a namespace registry: an append-only log in a
/// consensus store whose appends are compare-and-swaps on the head, and in
/// which a migration tag can be claimed once. `namespace/` owns this
/// interface and `shared_registry` uses it; a cluster layer implements it
/// (over etcd) and hands it to `deployment::share_registry`. Calls block (a
/// round trip to the store each) and fail with retryable
/// `errc::unavailable` when the store cannot be reached.
class registry_log {
public:
  virtual ~registry_log();

  /// Reads the head and the entries after `after` up to it, in order. An
  /// `after` beyond the head is an error (`errc::invalid_argument`): the
  /// data directory mirrored a different log.
  virtual caf::expected<registry_read> read(uint64_t after) = 0;

  /// Appends `text` as entry `head.sequence + 1` if the log is still at
  /// `head` and, for a non-empty `tag`, no entry claimed `tag` before. Returns
  /// the new head, or nothing if another append came first (read again).
  virtual caf::expected<std::optional<registry_head>>
  append(const registry_head& head, const std::string& tag,
         const std::string& text) = 0;

  /// The texts of the entries that claimed `tags` (nothing where none did).
  virtual caf::expected<std::vector<std::optional<std::string>>>
  find_tags(const std::vector<std::string>& tags) = 0;

  /// Where the log lives, for error texts ("etcd cluster c1").
  virtual std::string describe() const = 0;
};

} // namespace durable
