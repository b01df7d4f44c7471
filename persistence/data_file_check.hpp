#pragma once

// Internal header of the persistence layer (never installed): checks an LMDB
// data file before LMDB maps it, and makes new directory entries durable.

#include <functional>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "page_walk.hpp"

namespace durable::detail {

/// The file that marks an environment directory as initialised: written
/// (and synced) once the environment's first transaction is durable. A
/// missing or empty `data.mdb` beside it means the data was lost, not that
/// the environment is new.
constexpr std::string_view initialised_marker = "initialised";

/// Checks `<dir>/data.mdb` against its two meta pages before LMDB maps it:
/// both must carry LMDB's magic and data version and agree on a sane page
/// size, and the file must hold every page the newer meta page counts (a
/// shorter file would fault, SIGBUS, when LMDB touches the missing pages);
/// then, with `walk`, every page the newer meta page leads to is checked
/// with plain reads (see page_walk.hpp), since LMDB faults on damaged pages
/// too.
/// A missing or empty file is fine for a new environment and an error when
/// `<dir>/initialised` exists. Errors are `errc::storage_failure` naming the
/// file and what is wrong. `visit` (for tests) sees every page walked.
caf::error check_data_file(std::string_view env_name, const std::string& dir,
                           bool walk = true, const page_visitor& visit = {});

/// The error for OS call `what` failing with `err` on `path` of environment
/// `env_name` (`errc::storage_failure`).
caf::error env_os_error(std::string_view env_name, const char* what,
                        const std::string& path, int err);

/// fsyncs directory `dir` so that entries just created in it survive a
/// crash (as LevelDB does after creating files).
caf::error sync_directory(std::string_view env_name, const std::string& dir);

/// Test hook: called with the path of every directory `sync_directory`
/// syncs. Not thread-safe; set it before opening environments.
void set_sync_directory_hook(std::function<void(const std::string&)> hook);

} // namespace durable::detail
