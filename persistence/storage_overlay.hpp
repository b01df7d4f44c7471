#pragma once

// Internal header of the persistence layer (never installed): the writes of
// one object that LMDB does not have yet.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv_codec.hpp"
#include "write_set_data.hpp"

namespace durable::detail {

/// Two layers over the committed state in LMDB: the current turn, and the
/// sealed turns whose commits are in flight. A read asks the turn first,
/// then the in-flight layer (newest write wins), then LMDB. An in-flight
/// entry stays until *its* turn commits: an older commit completing does
/// not unmask a newer pending write to the same key.
class storage_overlay {
public:
  // -- member types -----------------------------------------------------------

  using key_value = std::pair<std::string, std::string>;

  // -- lookups ----------------------------------------------------------------

  /// Returns true if the overlay decides `key` (its value, or nullopt for a
  /// deletion, in `out`); false if the committed state decides.
  bool find(std::string_view key, std::optional<std::string>& out) const;

  /// Like `find`, for the alarm.
  bool find_alarm(std::optional<int64_t>& out) const;

  /// Returns whether a delete_all in the turn or in flight hides LMDB.
  bool hides_committed() const noexcept {
    return turn_clear_ || hidden_by_ != 0;
  }

  /// Merges the overlay's keys in [lo, hi) with the committed keys `db`
  /// yields (null if LMDB is hidden), in byte order (descending when
  /// `reverse`), appending at most `limit` entries to `out`.
  int merge(const std::optional<std::string>& lo,
            const std::optional<std::string>& hi, bool reverse, size_t limit,
            kv_scanner* db, std::vector<key_value>& out) const;

  // -- writes of the current turn ---------------------------------------------

  void put(std::string_view key, std::string_view value, bool confirm);

  void erase(std::string_view key, bool confirm);

  void clear_all(bool confirm);

  void set_alarm(alarm_op op, bool confirm);

  /// Returns whether the current turn wrote anything.
  bool dirty() const noexcept {
    return !turn_.empty() || turn_clear_ ||
           turn_alarm_.what != alarm_op::kind::none;
  }

  // -- transactions -----------------------------------------------------------

  size_t begin_transaction() {
    ++txn_depth_;
    return undo_.size();
  }

  void end_transaction(size_t mark, bool rollback);

  bool in_transaction() const noexcept { return txn_depth_ > 0; }

  // -- turns ------------------------------------------------------------------

  /// Moves the current turn into a new write set with sequence number `seq`
  /// (ops, delete_all, alarm; the caller fills in where it goes) and into the
  /// in-flight layer. Returns null if the turn wrote nothing.
  std::shared_ptr<write_set_data> seal(uint64_t seq);

  /// Drops the current turn.
  void discard_turn();

  /// Drops the in-flight entries of all write sets up to `seq`. Returns the
  /// sequence number of the last write set dropped (0: none).
  uint64_t committed(uint64_t seq);

  /// Drops everything (the object's commit failed).
  void reset();

  bool has_pending() const noexcept { return pending_head_ < pending_.size(); }

  /// Returns whether the overlay holds nothing at all (then its owner may
  /// drop it: an idle object keeps no overlay).
  bool idle() const noexcept {
    return !dirty() && txn_depth_ == 0 && undo_.empty() && !has_pending() &&
           inflight_.empty() && hidden_by_ == 0 &&
           inflight_alarm_.what == alarm_op::kind::none;
  }

private:
  // A key of a sealed turn. The value points into that turn's write set,
  // which `pending_` keeps alive.
  struct inflight_entry {
    const std::optional<std::string>* value;
    uint64_t seq;
  };

  using inflight_map = std::map<std::string, inflight_entry, std::less<>>;

  // How to undo one write of a transaction: the key's previous state in the
  // current turn, or the previous alarm change.
  struct undo_entry {
    bool is_alarm = false;
    std::string key;
    bool had = false;
    std::optional<std::string> prev;
    alarm_op prev_alarm;
  };

  void note(size_t bytes, bool confirm) noexcept {
    turn_bytes_ += bytes + 32;
    turn_confirm_ = turn_confirm_ || confirm;
  }

  void save_undo(std::string_view key);

  void reset_turn();

  // The current turn.
  op_map turn_;
  bool turn_clear_ = false;
  alarm_op turn_alarm_;
  bool turn_confirm_ = false;
  size_t turn_bytes_ = 0;
  size_t txn_depth_ = 0;
  std::vector<undo_entry> undo_;

  // Sealed turns awaiting `committed`, oldest first.
  // A vector with a read position, not a deque: an idle object's overlay
  // owns no heap memory (an empty std::deque allocates a chunk up front).
  std::vector<std::shared_ptr<const write_set_data>> pending_;
  size_t pending_head_ = 0;
  inflight_map inflight_;
  uint64_t hidden_by_ = 0; // seq of an in-flight delete_all
  alarm_op inflight_alarm_;
  uint64_t inflight_alarm_seq_ = 0;
};

} // namespace durable::detail
