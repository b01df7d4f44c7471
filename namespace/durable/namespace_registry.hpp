#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/migration.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

/// A namespace as recorded in the registry.
struct namespace_record {
  /// 32 lowercase hex digits: the namespace's unique key, which enters every
  /// ID. Never changes, also not by a rename.
  std::string id;
  /// The name `deployment::bind` uses (the binding).
  std::string name;
  /// The program that serves it (may be empty).
  std::string script;
  /// The class.
  std::string class_name;
};

/// Paging of a namespace listing (the REST API's `result_info`).
struct result_info {
  int64_t page = 1;
  int64_t per_page = 20;
  /// Entries on this page.
  int64_t count = 0;
  /// Entries on all pages.
  int64_t total_count = 0;
};

/// One page of namespaces, ordered by name.
struct namespace_list {
  std::vector<namespace_record> result;
  durable::result_info result_info;
};

/// A migration recorded as applied.
struct applied_migration {
  std::string tag;
  /// 1, 2, ... in the order of application.
  uint64_t sequence = 0;
  /// When it was applied (ms since the epoch).
  int64_t time_ms = 0;
};

/// `{"id": ..., "name": ..., "script": ..., "class": ...}`. In this and the
/// envelopes below, bytes of names that are not valid UTF-8 become U+FFFD, so
/// the text is always JSON; members keep the order shown.
std::string to_json(const namespace_record& x);

/// The REST API's envelope: `{"result": [...], "result_info": {"page",
/// "per_page", "count", "total_count"}, "success": true, "errors": [],
/// "messages": []}`.
std::string to_json(const namespace_list& x);

/// The envelope of a failure: `{"result": null, "success": false,
/// "errors": [{"code": <errc value>, "message": ...}], "messages": []}`.
std::string to_json_error(const caf::error& err);

/// The durable record of a data directory's namespaces and the migrations
/// applied to it, kept in the `meta` database of the global environment.
///
/// Reads are thread-safe and work on read-only engines. Writes (`ensure`,
/// `apply`) are serialized by the registry and committed through the global
/// environment's commit writer (the only thread that writes LMDB), so they
/// may run while a deployment serves objects; they block for their commits.
class namespace_registry {
public:
  // -- constants --------------------------------------------------------------

  static constexpr int64_t default_per_page = 20;

  static constexpr int64_t max_per_page = 100;

  /// Longest name, class, script or tag in bytes.
  static constexpr size_t max_name_size = 256;

  // -- constructors -----------------------------------------------------------

  explicit namespace_registry(std::shared_ptr<storage_engine> engine);

  namespace_registry(const namespace_registry&) = delete;
  namespace_registry& operator=(const namespace_registry&) = delete;

  // -- reading ----------------------------------------------------------------

  /// Returns page `page` (from 1) of `per_page` (1 to 100) namespaces. A page
  /// past the end is empty. Out-of-range parameters are
  /// `errc::invalid_argument`.
  caf::expected<namespace_list> list(int64_t page = 1,
                                     int64_t per_page = default_per_page) const;

  /// Returns all namespaces, ordered by name.
  caf::expected<std::vector<namespace_record>> all() const;

  /// Returns the namespace named `name`, if any.
  caf::expected<std::optional<namespace_record>>
  find(std::string_view name) const;

  /// Returns the namespace with ID `id`, if any.
  caf::expected<std::optional<namespace_record>>
  find_by_id(std::string_view id) const;

  /// Returns the migrations applied so far, in order.
  caf::expected<std::vector<applied_migration>> applied() const;

  // -- writing ----------------------------------------------------------------

  /// Returns the namespace named `name`, recording it first if there is none
  /// (how `deployment::bind` works without migrations): an automatically
  /// recorded namespace gets `derived_id(name)`, so every data directory
  /// (and node) derives the same IDs for it without coordination. Fails if
  /// that ID already belongs to another class (one renamed from `name`):
  /// create `name` with a migration then.
  caf::expected<namespace_record> ensure(std::string_view name,
                                         std::string_view script);

  /// Applies `migrations` in order, skipping those whose tag was applied
  /// before. The whole list is validated first (tags unique and non-empty,
  /// applied tags not after new ones, renames and deletions of existing
  /// classes only, new classes not existing, no deletion of a class whose ID
  /// is in `bound_ids`); an invalid list changes nothing. Each migration then
  /// commits atomically in the global environment together with its tag:
  /// deleted classes lose their record and their global data there and are
  /// marked for dropping; their data in the other jurisdictions is removed
  /// right after. If that is interrupted (a crash, a failed commit), the
  /// class stays deleted and `finish_deletions` (run by `apply` itself and
  /// by `deployment::open`) removes the rest.
  caf::expected<migration_result>
  apply(const std::vector<migration>& migrations,
        const std::vector<std::string>& bound_ids = {});

  /// Validates `migrations` as `apply` does and returns those not applied
  /// yet, each new class with the ID `apply` would give it (its `id` if set,
  /// else a fresh random one), so that applying the result elsewhere gives
  /// the same namespaces. Writes nothing. The tags applied before go to
  /// `skipped` (if not null).
  caf::expected<std::vector<migration>>
  resolve(const std::vector<migration>& migrations,
          const std::vector<std::string>& bound_ids = {},
          std::vector<std::string>* skipped = nullptr) const;

  /// How many entries of a shared registry log (`shared_registry`) this data
  /// directory has mirrored; 0 if none.
  caf::expected<uint64_t> log_position() const;

  /// Records that the entries up to `position` are mirrored.
  caf::error set_log_position(uint64_t position);

  /// Removes whatever data of deleted classes an interrupted `apply` left in
  /// non-global jurisdictions. Idempotent; does nothing on a read-only
  /// engine.
  caf::error finish_deletions();

  // -- utilities --------------------------------------------------------------

  /// Returns the ID an automatically recorded namespace named `name` gets:
  /// the first 16 bytes of SHA-256("caf-durable/namespace-id" 0x00 name) in
  /// hex.
  static std::string derived_id(std::string_view name);

  /// Checks a name, class, script or tag: 1 to 256 bytes without control
  /// characters (`what` names it in the error).
  static caf::error check_name(std::string_view x, const char* what);

private:
  caf::error finish_deletions_locked();

  /// Drops the data of the namespaces `ids` in every non-global jurisdiction
  /// (one transaction per environment), then clears their deletion markers.
  caf::error drop_deleted(const std::vector<std::string>& ids,
                          std::vector<namespace_usage>& removed);

  caf::expected<migration_result>
  apply_locked(const std::vector<migration>& migrations,
               const std::vector<std::string>& bound_ids);

  std::shared_ptr<storage_engine> engine_;
  std::mutex write_mtx_;
};

} // namespace durable
