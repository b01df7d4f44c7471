#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/commit_writer.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/meta_transaction.hpp"
#include "durable/object_storage.hpp"
#include "durable/storage_options.hpp"
#include "durable/storage_types.hpp"
#include "durable/write_set.hpp"

namespace durable {

/// The storage of one node: one LMDB environment per jurisdiction under the
/// data directory (`<data-dir>/global`, `<data-dir>/eu`, ...), each opened on
/// first use together with its `commit_writer`. An object's bytes live only
/// in the environment of its jurisdiction.
///
/// With `storage_options::read_only` the engine opens existing environments
/// for reading only (see there): reads work while another process writes,
/// writes fail with `errc::unavailable`.
///
/// Thread-safe. Destroying the engine stops the writers after completing
/// everything submitted; `object_storage` instances may outlive it for
/// reading, but their write sets can no longer be submitted.
class storage_engine {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// Creates the data directory if needed (a read-only engine requires it).
  /// Environments open lazily.
  static caf::expected<std::unique_ptr<storage_engine>>
  open(storage_options opts);

  storage_engine(const storage_engine&) = delete;
  storage_engine& operator=(const storage_engine&) = delete;

  ~storage_engine();

  // -- properties -------------------------------------------------------------

  const storage_options& options() const noexcept;

  /// Returns whether the engine was opened read-only.
  bool read_only() const noexcept;

  /// Returns the jurisdictions whose environment exists on disk.
  std::vector<jurisdiction> existing_jurisdictions() const;

  /// Returns the current map size of the environment of `j` (opening it).
  caf::expected<size_t> map_size(jurisdiction j);

  // -- namespaces -------------------------------------------------------------

  /// Returns the number of namespace `namespace_key` in the environment of
  /// `j`, assigning the next free one (durably, waiting for the commit) on
  /// first use. The same key keeps its number forever. Blocks for one commit
  /// on first use of a key: call it when setting up a namespace, never from
  /// a commit completion.
  caf::expected<uint32_t> namespace_number(jurisdiction j,
                                           std::string_view namespace_key);

  /// Returns the number of namespace `namespace_key` in the environment of
  /// `j` without assigning one: nullopt if it has none or the environment
  /// does not exist.
  caf::expected<std::optional<uint32_t>>
  find_namespace_number(jurisdiction j, std::string_view namespace_key);

  /// Returns every namespace key with a number in the environment of `j`,
  /// in key order (empty if the environment does not exist).
  caf::expected<std::vector<std::pair<std::string, uint32_t>>>
  namespace_numbers(jurisdiction j);

  /// Returns what each namespace stores in the environment of `j`, ordered
  /// by namespace number; namespaces without keys or alarms are left out.
  /// Walks the whole environment in one read transaction.
  caf::expected<std::vector<namespace_usage>> usage(jurisdiction j);

  // -- metadata and maintenance -----------------------------------------------

  /// Changes made by `update` functions.
  using update_function = std::function<caf::error(meta_transaction&)>;

  /// Returns the committed value of `meta` key `key` in the environment of
  /// `j` (nullopt if absent or the environment does not exist).
  caf::expected<std::optional<std::string>> meta_get(jurisdiction j,
                                                     std::string_view key);

  /// Returns the committed `meta` entries of the environment of `j` whose
  /// key starts with `prefix`, in byte order.
  caf::expected<std::vector<meta_transaction::key_value>>
  meta_scan(jurisdiction j, std::string_view prefix);

  /// Runs `fn` in a write transaction of the environment of `j` (creating
  /// it) on that environment's commit writer, the only thread that writes,
  /// and blocks until the transaction is durable. If `fn` returns an error,
  /// nothing it did is committed and that error is returned. `fn` may run
  /// more than once (the writer retries after growing the map or isolating
  /// a failed group): it must depend on nothing but the transaction. Never
  /// call this from a commit completion.
  caf::error update(jurisdiction j, update_function fn);

  // -- objects ----------------------------------------------------------------

  /// Returns the storage of object `id` of namespace `ns` in the environment
  /// of `j`. Cheap; no I/O beyond opening the environment on first use.
  caf::expected<object_storage> open_object(jurisdiction j, uint32_t ns,
                                            const object_bytes& id);

  /// Submits `ws` to the writer of its environment (see
  /// `commit_writer::submit`).
  void submit(write_set ws, commit_writer::completion done);

  /// Returns the writer of the environment of `j` (opening it). The pointer
  /// stays valid for the life of the engine.
  caf::expected<commit_writer*> writer(jurisdiction j);

  /// The writers of the environments opened so far, in jurisdiction code
  /// order, without opening any (for metrics: lock-free, any thread).
  std::vector<const commit_writer*> open_writers() const;

  /// Blocks until everything submitted to any writer has completed.
  caf::error flush();

  // -- alarms -----------------------------------------------------------------

  /// Returns up to `max` committed alarms of the environment of `j` due at or
  /// before `until_ms`, earliest first (ordered by time, namespace number,
  /// object). With `after`, only alarms ordered after it: a scan resumes
  /// where the last one stopped. Empty if the environment does not exist.
  caf::expected<std::vector<alarm_entry>>
  due_alarms(jurisdiction j, int64_t until_ms, size_t max,
             const std::optional<alarm_entry>& after = std::nullopt);

  /// Returns all committed alarms of the environment of `j` (for recovery
  /// at startup), earliest first.
  caf::expected<std::vector<alarm_entry>> all_alarms(jurisdiction j);

  /// Returns the earliest committed alarm time of the environment of `j`.
  caf::expected<std::optional<int64_t>> next_alarm_time(jurisdiction j);

  // -- backups ----------------------------------------------------------------

  /// Writes a consistent, compacted copy of the environment of `j` (its
  /// newest committed transaction, without free pages) to the new file
  /// `path` (mode 0600; an existing file is an error) and syncs it. Works on
  /// a read-only engine beside a running server. Returns the bytes written.
  /// A missing environment is `errc::invalid_argument`.
  caf::expected<uint64_t> copy_environment(jurisdiction j,
                                           const std::string& path);

  // -- shutdown ---------------------------------------------------------------

  /// Completes everything submitted and stops all writers. Later submissions
  /// fail with `errc::unavailable`. Idempotent.
  void shutdown();

private:
  struct impl;

  explicit storage_engine(storage_options opts);

  std::unique_ptr<impl> impl_;
};

} // namespace durable
