#pragma once

#include <cstddef>
#include <string>

namespace durable {

/// How much of each environment's `data.mdb` is checked before LMDB maps it.
enum class data_file_check {
  /// The meta pages and the file's length, then every page of every B-tree
  /// (branch and leaf pages, the first page of each large value, the lists
  /// of free pages): LMDB trusts every page it follows and faults on
  /// damaged ones. Costs about one read of the file's tree pages per open.
  full,
  /// Only the meta pages and the file's length: opens large files faster,
  /// but a damaged interior page can still crash the process.
  meta,
};

/// Configuration of a `storage_engine`.
struct storage_options {
  /// Directory holding one LMDB environment per jurisdiction
  /// (`<data_dir>/global`, `<data_dir>/eu`, ...). Created when missing
  /// (unless `read_only`).
  std::string data_dir;

  /// Map size of a newly opened environment. The map doubles on demand.
  size_t initial_map_size = size_t{64} << 20;

  /// Upper bound for the map size of each environment. Writes that do not
  /// fit fail with `errc::storage_full`.
  size_t max_map_size = size_t{64} << 30;

  /// Reader slots of each environment: bounds the number of threads reading
  /// one environment at the same time.
  unsigned max_readers = 126;

  /// Upper bound for the bytes of write sets grouped into one transaction;
  /// larger backlogs are committed in several transactions.
  size_t max_batch_bytes = size_t{64} << 20;

  /// Keys of an object that one commit round deletes at most during its
  /// `delete_all`: larger objects are deleted over several rounds, so that
  /// the commits of other objects do not wait for one large deletion.
  size_t delete_chunk_keys = 10000;

  /// Opens existing environments for reading only: no `owner.lock`, no
  /// commit writer, nothing created, so it works while another process (a
  /// running deployment) has the data directory open. Every write fails
  /// with `errc::unavailable`. Never open a data directory read-only in a
  /// process that has it open for writing (LMDB allows one handle per
  /// environment and process).
  bool read_only = false;

  /// How `data.mdb` is checked before it is mapped.
  data_file_check check_data_file = data_file_check::full;
};

} // namespace durable
