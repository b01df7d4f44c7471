#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/migration.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/registry_log.hpp"

namespace durable {

/// A namespace registry shared by the nodes of a cluster: the history lives
/// in a `registry_log` (etcd), and each data directory's registry mirrors it
/// entry by entry, in the log's order, so that every node gives every class
/// the same namespace ID.
///
/// Two kinds of entries: a migration with the IDs of its new classes
/// resolved (appended by whoever applies it first, its tag claimed once
/// cluster-wide), and the record of a class bound without a migration (its
/// ID derived from its name, as `namespace_registry::ensure` gives it).
/// Writes validate against the mirror, then append with compare-and-swap on
/// the log's head; losing the race means reading, mirroring and validating
/// again. Thread-safe; calls block on the store.
class shared_registry {
public:
  // -- constants --------------------------------------------------------------

  /// Lost appends one call tolerates before giving up (each means another
  /// writer made progress).
  static constexpr int max_rounds = 100;

  // -- constructors -----------------------------------------------------------

  shared_registry(namespace_registry& local, std::shared_ptr<registry_log> log);

  shared_registry(const shared_registry&) = delete;
  shared_registry& operator=(const shared_registry&) = delete;

  // -- mirroring --------------------------------------------------------------

  /// Applies the entries this data directory has not mirrored yet. Fails if
  /// the directory mirrored more entries than the log holds (another log),
  /// or, on its first mirror, holds migrations that the log lacks (applied
  /// outside the cluster: their IDs would differ). An entry that deletes a
  /// class in `bound_ids` fails (restart the node to apply it).
  caf::error mirror(const std::vector<std::string>& bound_ids = {});

  // -- writing ----------------------------------------------------------------

  /// Mirrors, then returns the class `name`, recording it in the log first if
  /// nobody has (see `namespace_registry::ensure`).
  caf::expected<namespace_record>
  ensure(std::string_view name, std::string_view script,
         const std::vector<std::string>& bound_ids = {});

  /// Mirrors, then applies `migrations` cluster-wide: each tag that no node
  /// applied yet is appended to the log with its new classes' IDs and then
  /// mirrored here; the others are skipped, and must be defined as the log
  /// has them (`errc::invalid_argument` naming the tag otherwise; a class
  /// without `id` matches any ID). Validation is `namespace_registry::apply`'s.
  /// A call whose append committed but whose answer was lost reports that
  /// tag as skipped.
  caf::expected<migration_result>
  apply(const std::vector<migration>& migrations,
        const std::vector<std::string>& bound_ids = {});

  // -- properties -------------------------------------------------------------

  const registry_log& log() const noexcept { return *log_; }

private:
  caf::error mirror_locked(const std::vector<std::string>& bound_ids);

  caf::error apply_entry(const registry_entry& entry,
                         const std::vector<std::string>& bound_ids,
                         migration_result* result);

  /// Checks that the skipped tags are defined as the log has them.
  caf::error check_skipped(const std::vector<migration>& migrations,
                           const std::vector<std::string>& skipped);

  namespace_registry& local_;
  std::shared_ptr<registry_log> log_;
  registry_head head_;
  bool mirrored_once_ = false;
  std::mutex mtx_;
};

} // namespace durable
