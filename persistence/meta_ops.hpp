#pragma once

// Internal header of the persistence layer (never installed): operations on
// the `meta` database and namespace-wide scans inside LMDB transactions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <lmdb.h>

#include "durable/meta_transaction.hpp"
#include "durable/storage_types.hpp"

namespace durable::detail {

class environment;

/// The state behind a `meta_transaction`: the write transaction and the
/// first LMDB failure (later calls repeat it without touching LMDB).
struct meta_txn_state {
  MDB_txn* txn;
  environment* env;
  int rc = 0;
};

/// Reads `key` of `dbi` into `out` (nullopt if absent).
int get_meta(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
             std::optional<std::string>& out);

/// Appends the entries of `dbi` whose key starts with `prefix` to `out`.
int scan_meta(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
              std::vector<meta_transaction::key_value>& out);

/// Reads the number of namespace `namespace_key` (nullopt if it has none).
int find_number(MDB_txn* txn, MDB_dbi meta, std::string_view namespace_key,
                std::optional<uint32_t>& out);

/// Deletes every kv entry and alarm of namespace number `ns`, counting them
/// into `out`.
int drop_namespace(MDB_txn* txn, environment& env, uint32_t ns,
                   namespace_usage& out);

/// Sums what each namespace of `env` stores into `out` (ordered by number).
int usage_scan(MDB_txn* txn, environment& env,
               std::vector<namespace_usage>& out);

} // namespace durable::detail
