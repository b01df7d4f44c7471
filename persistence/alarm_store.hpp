#pragma once

// Internal header of the persistence layer (never installed): the layout of
// the `alarms` and `alarm_index` databases.
//   alarms:      base (36 bytes) -> time (8 bytes, big-endian)
//   alarm_index: time (8 bytes, big-endian) + base -> empty
// Alarm times are positive, so big-endian bytes sort like the numbers and a
// cursor over the index yields alarms in due order.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <lmdb.h>

#include "durable/storage_types.hpp"
#include "kv_codec.hpp"

namespace durable::detail {

/// The two databases of the alarm store.
struct alarm_dbs {
  MDB_dbi alarms;
  MDB_dbi index;
};

/// Reads the alarm of an object.
int alarm_get(MDB_txn* txn, alarm_dbs dbs, const base_key& base,
              std::optional<int64_t>& out);

/// Sets (or moves) the alarm of an object to `time` (> 0).
int alarm_set(MDB_txn* txn, alarm_dbs dbs, const base_key& base, int64_t time);

/// Deletes the alarm of an object, if any.
int alarm_del(MDB_txn* txn, alarm_dbs dbs, const base_key& base);

/// Appends up to `max` alarms with time <= `until` to `out`, earliest first
/// (in index order: time, namespace, object); with `after`, only alarms
/// that come after it in that order.
int alarm_scan(MDB_txn* txn, alarm_dbs dbs, int64_t until, size_t max,
               const alarm_entry* after, std::vector<alarm_entry>& out);

} // namespace durable::detail
