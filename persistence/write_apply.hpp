#pragma once

// Internal header of the persistence layer (never installed): how the commit
// writer applies one write set inside its write transaction, including the
// chunks of a large delete_all (see clear_marker.hpp).

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <lmdb.h>

#include "kv_codec.hpp"

namespace durable::detail {

class environment;
struct write_set_data;

/// What one transaction attempt does with a write set.
enum class apply_step : uint8_t {
  applied,    ///< committed as usual (or had nothing to write)
  started,    ///< a delete_all too large for one round: its marker is written
  progressed, ///< a delete_all under way deleted another chunk
  finished,   ///< a delete_all under way deleted its last keys and the rest
  deferred,   ///< waits for a delete_all of its object (a flush: for all)
};

/// The state of one write transaction attempt.
struct apply_context {
  /// Keys the attempt may still delete for delete_all calls.
  size_t budget = 0;
  /// Whether the attempt deleted part of a delete_all spread over rounds.
  bool chunked = false;
  /// Objects whose delete_all started in this round: their later write sets
  /// must wait for its last chunk.
  std::set<base_key> started;
  /// Encoding buffer for LMDB keys.
  std::string scratch;
};

/// Applies `ws` in `txn`. With `deleting`, its delete_all is under way (the
/// marker is committed) and this applies the next chunk; only once the
/// object is empty does it apply the rest of `ws`. Returns an LMDB code and
/// sets `out`.
int apply_write_set(MDB_txn* txn, environment& env, apply_context& ctx,
                    const write_set_data& ws, bool deleting, apply_step& out);

} // namespace durable::detail
