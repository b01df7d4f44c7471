#include "storage_overlay.hpp"

#include <iterator>

namespace durable::detail {

namespace {

// Walks the part of a std::map inside [lo, hi) in either direction.
template <class Map>
class range_cursor {
public:
  using iterator = typename Map::const_iterator;

  range_cursor(const Map& xs, const std::optional<std::string>& lo,
               const std::optional<std::string>& hi, bool reverse)
      : first_(lo ? xs.lower_bound(*lo) : xs.begin()),
        last_(hi ? xs.lower_bound(*hi) : xs.end()),
        reverse_(reverse) {
    // nop
  }

  bool done() const noexcept { return first_ == last_; }

  iterator current() const noexcept {
    return reverse_ ? std::prev(last_) : first_;
  }

  void advance() noexcept {
    if (reverse_)
      --last_;
    else
      ++first_;
  }

private:
  iterator first_;
  iterator last_;
  bool reverse_;
};

} // namespace

// -- lookups ------------------------------------------------------------------

bool storage_overlay::find(std::string_view key,
                           std::optional<std::string>& out) const {
  if (auto i = turn_.find(key); i != turn_.end()) {
    out = i->second;
    return true;
  }
  if (turn_clear_) {
    out.reset();
    return true;
  }
  if (auto i = inflight_.find(key); i != inflight_.end()) {
    out = *i->second.value;
    return true;
  }
  if (hidden_by_ != 0) {
    out.reset();
    return true;
  }
  return false;
}

bool storage_overlay::find_alarm(std::optional<int64_t>& out) const {
  auto decide = [&out](const alarm_op& op) {
    if (op.what == alarm_op::kind::set)
      out = op.time;
    else
      out.reset();
    return true;
  };
  if (turn_alarm_.what != alarm_op::kind::none)
    return decide(turn_alarm_);
  if (inflight_alarm_seq_ != 0)
    return decide(inflight_alarm_);
  if (hidden_by_ != 0) {
    out.reset();
    return true;
  }
  return false;
}

int storage_overlay::merge(const std::optional<std::string>& lo,
                           const std::optional<std::string>& hi, bool reverse,
                           size_t limit, kv_scanner* db,
                           std::vector<key_value>& out) const {
  bool use_inflight = !turn_clear_;
  range_cursor<op_map> turn{turn_, lo, hi, reverse};
  range_cursor<inflight_map> inflight{inflight_, lo, hi, reverse};
  bool db_has = false;
  std::string db_key;
  std::string_view db_value;
  if (db != nullptr)
    if (auto rc = db->next(db_has, db_key, db_value))
      return rc;
  std::string key;
  while (out.size() < limit) {
    // The next key in scan order among the three layers.
    const std::string* best = nullptr;
    auto consider = [&](const std::string& x) {
      if (best == nullptr || (reverse ? x > *best : x < *best))
        best = &x;
    };
    if (!turn.done())
      consider(turn.current()->first);
    if (use_inflight && !inflight.done())
      consider(inflight.current()->first);
    if (db_has)
      consider(db_key);
    if (best == nullptr)
      return 0;
    key = *best;
    // The newest layer holding the key decides; a deletion hides it.
    const std::optional<std::string>* value = nullptr;
    if (!turn.done() && turn.current()->first == key) {
      value = &turn.current()->second;
      turn.advance();
    }
    if (use_inflight && !inflight.done() && inflight.current()->first == key) {
      if (value == nullptr)
        value = inflight.current()->second.value;
      inflight.advance();
    }
    if (value == nullptr)
      out.emplace_back(key, std::string{db_value});
    else if (*value)
      out.emplace_back(key, **value);
    if (db_has && db_key == key)
      if (auto rc = db->next(db_has, db_key, db_value))
        return rc;
  }
  return 0;
}

// -- writes of the current turn -----------------------------------------------

void storage_overlay::put(std::string_view key, std::string_view value,
                          bool confirm) {
  save_undo(key);
  if (auto i = turn_.find(key); i != turn_.end()) {
    if (i->second)
      i->second->assign(value.data(), value.size());
    else
      i->second.emplace(value);
  } else {
    turn_.emplace(std::string{key}, std::string{value});
  }
  note(key.size() + value.size(), confirm);
}

void storage_overlay::erase(std::string_view key, bool confirm) {
  save_undo(key);
  if (auto i = turn_.find(key); i != turn_.end())
    i->second.reset();
  else
    turn_.emplace(std::string{key}, std::nullopt);
  note(key.size(), confirm);
}

void storage_overlay::clear_all(bool confirm) {
  // Never inside a transaction (refused by the caller): no undo needed.
  turn_.clear();
  turn_clear_ = true;
  turn_alarm_ = alarm_op{alarm_op::kind::remove, 0};
  note(0, confirm);
}

void storage_overlay::set_alarm(alarm_op op, bool confirm) {
  if (txn_depth_ > 0) {
    undo_entry entry;
    entry.is_alarm = true;
    entry.prev_alarm = turn_alarm_;
    undo_.push_back(std::move(entry));
  }
  turn_alarm_ = op;
  note(8, confirm);
}

// -- transactions -------------------------------------------------------------

void storage_overlay::save_undo(std::string_view key) {
  if (txn_depth_ == 0)
    return;
  undo_entry entry;
  entry.key.assign(key);
  if (auto i = turn_.find(key); i != turn_.end()) {
    entry.had = true;
    entry.prev = i->second;
  }
  undo_.push_back(std::move(entry));
}

void storage_overlay::end_transaction(size_t mark, bool rollback) {
  if (txn_depth_ == 0)
    return; // the turn ended inside the transaction
  --txn_depth_;
  if (rollback) {
    while (undo_.size() > mark) {
      auto& entry = undo_.back();
      if (entry.is_alarm)
        turn_alarm_ = entry.prev_alarm;
      else if (!entry.had)
        turn_.erase(entry.key);
      else if (auto i = turn_.find(entry.key); i != turn_.end())
        i->second = std::move(entry.prev);
      undo_.pop_back();
    }
  }
  if (txn_depth_ == 0)
    undo_.clear();
}

// -- turns --------------------------------------------------------------------

std::shared_ptr<write_set_data> storage_overlay::seal(uint64_t seq) {
  if (!dirty()) {
    reset_turn();
    return nullptr;
  }
  auto data = std::make_shared<write_set_data>();
  data->seq = seq;
  data->clear_all = turn_clear_;
  data->needs_confirmation = turn_confirm_;
  data->alarm = turn_alarm_;
  data->ops = std::move(turn_); // map nodes move: pointers stay valid
  data->byte_size = turn_bytes_;
  reset_turn();
  if (data->clear_all) {
    inflight_.clear();
    hidden_by_ = seq;
  }
  for (auto& [key, value] : data->ops) {
    if (auto i = inflight_.find(key); i != inflight_.end())
      i->second = inflight_entry{&value, seq};
    else
      inflight_.emplace(key, inflight_entry{&value, seq});
  }
  if (data->alarm.what != alarm_op::kind::none) {
    inflight_alarm_ = data->alarm;
    inflight_alarm_seq_ = seq;
  }
  pending_.push_back(data);
  return data;
}

void storage_overlay::discard_turn() {
  reset_turn();
}

uint64_t storage_overlay::committed(uint64_t seq) {
  uint64_t last = 0;
  while (pending_head_ < pending_.size() &&
         pending_[pending_head_]->seq <= seq) {
    auto& done = *pending_[pending_head_];
    for (auto& kv : done.ops) {
      auto i = inflight_.find(kv.first);
      if (i != inflight_.end() && i->second.seq == done.seq)
        inflight_.erase(i);
    }
    if (hidden_by_ == done.seq)
      hidden_by_ = 0;
    if (inflight_alarm_seq_ == done.seq) {
      inflight_alarm_ = alarm_op{};
      inflight_alarm_seq_ = 0;
    }
    last = done.seq;
    pending_[pending_head_++].reset();
  }
  if (pending_head_ == pending_.size()) {
    pending_.clear();
    pending_head_ = 0;
  }
  return last;
}

void storage_overlay::reset() {
  reset_turn();
  inflight_.clear();
  pending_.clear();
  pending_head_ = 0;
  hidden_by_ = 0;
  inflight_alarm_ = alarm_op{};
  inflight_alarm_seq_ = 0;
}

void storage_overlay::reset_turn() {
  turn_.clear();
  turn_clear_ = false;
  turn_alarm_ = alarm_op{};
  turn_confirm_ = false;
  turn_bytes_ = 0;
  txn_depth_ = 0;
  undo_.clear();
}

} // namespace durable::detail
