#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/storage_engine.hpp"

namespace durable {

/// One file of a backup as its manifest records it.
struct backup_file {
  /// Path inside the backup: `<environment>/data.mdb` or a plain name.
  std::string path;
  uint64_t bytes = 0;
  /// SHA-256 of the content, 64 lowercase hex digits.
  std::string sha256;
};

/// What a backup holds (`manifest.json`, written last: a directory without
/// it is no backup).
struct backup_manifest {
  /// The manifest's format; only `backup_format` is accepted.
  std::string format;
  /// Milliseconds since the epoch when the backup was complete.
  int64_t created_ms = 0;
  /// The data directory it was taken from (informational).
  std::string source;
  /// Storage names of the copied environments ("global", "eu", ...).
  std::vector<std::string> environments;
  /// Every file, environments first.
  std::vector<backup_file> files;
};

/// The format a backup manifest names.
constexpr const char* backup_format = "caf-durable-backup/1";

/// The manifest's file name inside a backup.
constexpr const char* backup_manifest_name = "manifest.json";

/// Options of `make_backup`.
struct backup_options {
  /// Further files copied verbatim (mode 0600) beside the environments:
  /// pairs of (plain name inside the backup, source path); e.g. the secret.
  std::vector<std::pair<std::string, std::string>> extra_files;
};

/// Backs up every environment of `engine` (read-only beside a running
/// server, or the engine of the running deployment itself) into `target`,
/// which must not exist or be an empty directory. Each environment is a
/// compacted copy of one committed snapshot (`copy_environment`), checked
/// with the data-file check; the environments of jurisdictions are copied
/// before the global one, so that a class deletion a snapshot sees half done
/// is finished, never half undone, after a restore (the global registry and
/// its deletion markers are never older than the data they govern). All of
/// it is written into a temporary sibling directory, synced, its manifest
/// written last, and then renamed to `target`: a crash leaves either a
/// whole backup or a `.<name>.partial-*` directory without a manifest.
caf::expected<backup_manifest> make_backup(storage_engine& engine,
                                           const std::string& target,
                                           const backup_options& opts = {});

/// Checks the backup in `dir`: its manifest, every file's size and SHA-256,
/// and each environment with the full data-file check (as before LMDB maps
/// a file). Errors are `errc::storage_failure` naming the file and what is
/// wrong, or `errc::invalid_argument` for a directory that is no backup.
caf::expected<backup_manifest> verify_backup(const std::string& dir);

/// Called with the staged data directory before a restore is committed;
/// an error stops the restore (nothing is left behind).
using restore_check = std::function<caf::error(const std::string& staged)>;

/// Restores the backup in `backup_dir` into `data_dir`, which must not exist
/// or be an empty directory: verifies the backup (`verify_backup`), copies
/// it into a temporary sibling of `data_dir` (checking each file's SHA-256
/// while copying, marking each environment initialised, checking each with
/// the data-file check again), runs `check` on it, syncs it and renames it
/// to `data_dir`. A failure leaves `data_dir` as it was.
caf::expected<backup_manifest> restore_backup(const std::string& backup_dir,
                                              const std::string& data_dir,
                                              const restore_check& check = {});

} // namespace durable
