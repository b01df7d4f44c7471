#pragma once

// Internals of durable-admin: options, exit codes, the commands and their
// shared helpers.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/id_factory.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/secret.hpp"
#include "durable/shared_registry.hpp"
#include "durable/storage_engine.hpp"

namespace admin {

/// Exit codes (documented in the usage text).
enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,   ///< malformed command line
  exit_invalid = 2, ///< not found, invalid ID or input, rejected migration
  exit_storage = 3, ///< storage or I/O failure
  exit_busy = 4,    ///< a write needs the data directory a server holds
};

/// The parsed command line (from the `caf::settings` CAF's parser filled).
struct options {
  std::string data_dir = "durable-data";
  bool data_dir_given = false; ///< --data-dir was on the command line
  std::string secret_file;     ///< Empty: `<data_dir>/secret`.
  bool json = false;
  std::optional<int64_t> page;
  std::optional<int64_t> per_page;
  std::optional<int64_t> limit;     ///< object show: keys listed
  std::optional<int64_t> max_value; ///< object show: value bytes shown
  std::optional<std::string> jurisdiction;
  bool by_name = false;        ///< object show: the argument is a name
  bool include_secret = false; ///< backup: copy the secret file too
  /// --etcd-endpoints: the cluster's etcd (empty: the data directory's own
  /// registry).
  std::vector<std::string> etcd_endpoints;
  std::string cluster; ///< --cluster: the cluster's name in etcd
  /// Positional arguments after the command words.
  std::vector<std::string> args;
};

// -- commands (return the exit code) ------------------------------------------

int namespaces_list(const options& opts);
int migrate(const options& opts);
int id_from_name(const options& opts);
int id_check(const options& opts);
int object_show(const options& opts);
int stats(const options& opts);
int secret_adopt(const options& opts);
int backup(const options& opts);
int restore(const options& opts);

// -- helpers ------------------------------------------------------------------

/// Prints "durable-admin: <context>: <message>" to stderr and returns the
/// exit code for `err`.
int fail(const caf::error& err, const std::string& context = {});

/// Prints a message to stderr and returns `code`.
int fail(const std::string& text, int code);

/// Opens the data directory: read-only (works while a server runs it), or
/// for writing, which fails with `exit_busy` semantics when a server has it.
caf::expected<std::shared_ptr<durable::storage_engine>>
open_engine(const options& opts, bool write);

/// Returns the record of namespace `name`; an unknown name is
/// `errc::invalid_argument`.
caf::expected<durable::namespace_record>
require_namespace(const durable::namespace_registry& reg,
                  const std::string& name);

/// Loads the deployment secret (never creates one).
caf::expected<durable::deployment_secret> load_secret(const options& opts);

/// What the ID and object commands work on: the data directory (read-only),
/// the namespace named by the first argument and its ID factory.
struct namespace_view {
  std::shared_ptr<durable::storage_engine> engine;
  durable::namespace_record record;
  durable::id_factory ids;
};

/// Opens the namespace named by `opts.args[0]` (see `namespace_view`).
caf::expected<namespace_view> open_namespace(const options& opts);

/// The registry `migrate` and `namespaces list` work on: with
/// --etcd-endpoints the cluster's shared registry, mirrored into the data
/// directory (created if missing) or, without --data-dir, into a temporary
/// one removed afterwards; else the data directory's own.
class registry_view {
public:
  static caf::expected<std::unique_ptr<registry_view>> open(const options& opts,
                                                            bool write);

  ~registry_view();

  durable::namespace_registry& local() { return *local_; }

  /// Null without --etcd-endpoints.
  durable::shared_registry* shared() { return shared_.get(); }

private:
  registry_view() = default;
  std::shared_ptr<durable::storage_engine> engine_;
  std::unique_ptr<durable::namespace_registry> local_;
  std::unique_ptr<durable::shared_registry> shared_;
  std::string temp_dir_;
};

/// Shows `bytes` safely: printable ASCII as is, `\\`, `\"`, `\n`, `\t`,
/// `\xNN` for the rest, at most `max` input bytes (`truncated` tells).
std::string display(std::string_view bytes, size_t max, bool& truncated);

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
std::string iso_time(int64_t ms);

/// Pads `x` with spaces to `width` (left-aligned).
std::string pad(std::string x, size_t width);

} // namespace admin
