#pragma once

// Internal header of the persistence layer (never installed): the contents
// of a sealed write set.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "kv_codec.hpp"

namespace durable::detail {

class environment;

/// A pending change of an object's alarm.
struct alarm_op {
  enum class kind : uint8_t { none, set, remove };
  kind what = kind::none;
  int64_t time = 0;
};

/// Key -> new value, or nullopt for a delete. Ordered, so that the writer
/// inserts in key order and reads can walk it as a range.
using op_map = std::map<std::string, std::optional<std::string>, std::less<>>;

/// Shared by an object's storage and all of its write sets. Once one write
/// set of the chain fails, every later one must fail too: it was computed
/// on top of the failed writes (reads saw them), so committing it alone
/// would persist a state that never existed.
struct write_chain {
  std::atomic<bool> failed{false};
  /// The sequence number of the last write set (or barrier) of the chain
  /// whose commit and completion are done; set by the writer thread.
  std::atomic<uint64_t> durable{0};
  /// Set once `on_failure` was called.
  std::atomic<bool> notified{false};
  /// The error of the first write set that failed on its own, reported with
  /// the later ones too (a full map stays "storage full"). Written and read
  /// on the writer thread only.
  caf::error cause;
  /// Called once, on the writer thread, when the first write set of the
  /// chain fails (set before the first submit, never changed after).
  std::function<void(const caf::error&)> on_failure;
};

/// Return code of an engine update whose function rejected the change (the
/// reason travels separately; outside the range of LMDB's own codes).
constexpr int update_rejected = -31001;

/// The immutable contents of a sealed `write_set`.
struct write_set_data {
  std::shared_ptr<environment> env;
  std::shared_ptr<write_chain> chain; // null for the engine's own writes
  base_key base{};
  uint64_t seq = 0;
  bool clear_all = false;
  bool needs_confirmation = true;
  alarm_op alarm;
  op_map ops;
  std::vector<std::pair<std::string, std::string>> meta_puts;
  /// Runs last inside the write transaction (engine maintenance such as
  /// `storage_engine::update`); a non-zero result aborts the transaction.
  /// May run more than once (group retries, map growth): it must depend on
  /// nothing but the transaction.
  std::function<int(MDB_txn*)> custom;
  size_t byte_size = 0;

  bool has_writes() const noexcept {
    return clear_all || alarm.what != alarm_op::kind::none || !ops.empty() ||
           !meta_puts.empty() || custom != nullptr;
  }
};

} // namespace durable::detail
