#pragma once

// Internal header of the persistence layer (never installed): the file
// system steps of backups and restores (staging directories, copies with
// SHA-256, syncing, the final rename).

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace durable::detail {

/// "backup: cannot <what> '<path>': <strerror>" (`errc::storage_failure`).
caf::error backup_os_error(const char* what, const std::string& path, int err);

/// Refuses `target` unless it does not exist or is an empty directory
/// (`errc::invalid_argument`; `role` names it in the text, e.g. "backup
/// target"). Its parent directory must exist.
caf::error check_empty_target(const std::string& target, const char* role);

/// A fresh directory `.<name of target>.<kind>-XXXXXX` beside `target`
/// (mode 0700, on the same file system so that it can be renamed onto
/// `target`), removed with everything in it unless committed.
class staging_dir {
public:
  static caf::expected<staging_dir> make(const std::string& target,
                                         const char* kind);

  staging_dir(staging_dir&& other) noexcept;
  staging_dir& operator=(staging_dir&&) = delete;
  ~staging_dir();

  const std::string& path() const noexcept { return path_; }

  /// Syncs the directory and renames it onto the target (which must not
  /// exist or be an empty directory), then syncs their parent.
  caf::error commit();

private:
  staging_dir(std::string path, std::string target);

  std::string path_; ///< Empty once committed or moved from.
  std::string target_;
};

/// Creates directory `path` (mode 0700).
caf::error make_dir(const std::string& path);

/// Returns the SHA-256 (lowercase hex) of the file at `path` and its size.
caf::expected<std::string> file_sha256(const std::string& path,
                                       uint64_t& bytes);

/// Copies `from` to the new file `to` (mode 0600, synced) and returns the
/// SHA-256 of what was copied and its size.
caf::expected<std::string> copy_file(const std::string& from,
                                     const std::string& to, uint64_t& bytes);

/// Writes `content` to the new file `path` (mode 0600) and syncs it.
caf::error write_file(const std::string& path, const std::string& content);

/// Reads the regular file `path` of at most `max` bytes.
caf::expected<std::string> read_small_file(const std::string& path, size_t max);

/// fsyncs directory `dir`.
caf::error sync_dir(const std::string& dir);

} // namespace durable::detail
