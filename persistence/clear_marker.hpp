#pragma once

// Internal header of the persistence layer (never installed): objects whose
// `delete_all` is carried out in chunks.
//
// Deleting a large object in one transaction would hold the environment's
// single writer for as long as it takes. Instead the commit writer deletes
// a bounded number of keys per round. The first round writes a marker
// (`meta`: "clear/" + base) in the same transaction as its first chunk and
// the removal of the alarm; the last one removes it together with the
// writes that followed the delete_all. While the marker exists, reads treat
// the object's committed keys as gone (they are half deleted) and the
// writer holds back later write sets of the object; after a crash the
// environment finds the markers and resumes the deletion.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <set>
#include <string_view>
#include <vector>

#include <lmdb.h>

#include "kv_codec.hpp"

namespace durable::detail {

/// Prefix of the `meta` keys marking an object being deleted.
constexpr std::string_view clear_marker_prefix = "clear/";

/// The objects (bases) of one environment with a marker. Reads on any thread
/// ask it; the writer thread changes it.
class clear_set {
public:
  /// Returns whether `base` is being deleted; costs one atomic load while
  /// no deletion runs.
  bool contains(const base_key& base) const {
    if (size_.load(std::memory_order_acquire) == 0)
      return false;
    std::lock_guard<std::mutex> guard{mtx_};
    return bases_.count(base) != 0;
  }

  void insert(const base_key& base);

  void erase(const base_key& base);

  std::vector<base_key> snapshot() const;

private:
  mutable std::mutex mtx_;
  std::set<base_key> bases_;
  std::atomic<size_t> size_{0};
};

/// Writes the marker of `base`.
int put_clear_marker(MDB_txn* txn, MDB_dbi meta, const base_key& base);

/// Removes the marker of `base`.
int del_clear_marker(MDB_txn* txn, MDB_dbi meta, const base_key& base);

/// Appends the bases of all markers to `out`.
int load_clear_markers(MDB_txn* txn, MDB_dbi meta, std::vector<base_key>& out);

} // namespace durable::detail
