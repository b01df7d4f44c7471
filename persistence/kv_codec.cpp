#include "kv_codec.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace durable::detail {

namespace {

std::atomic<uint64_t> key_hash_mask{~uint64_t{0}};

constexpr uint32_t no_chain = 0x10000;

// FNV-1a: stable across builds and platforms, which the on-disk layout needs
// (std::hash is neither). Collisions are resolved by the chain number, so a
// weak hash costs only speed.
uint64_t tail_hash(std::string_view tail) noexcept {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : tail) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h & key_hash_mask.load(std::memory_order_relaxed);
}

std::string_view view(const base_key& base) noexcept {
  return {base.data(), base.size()};
}

// Builds base + K[0, direct_key_max) + hash(tail): all chain entries of K
// start with this stem.
void make_stem(std::string& out, const base_key& base, std::string_view key) {
  out.assign(base.data(), base.size());
  out.append(key.substr(0, direct_key_max));
  auto h = tail_hash(key.substr(direct_key_max));
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((h >> shift) & 0xFF));
}

// Splits the value of a long key into tail and user value.
int parse_long_value(std::string_view raw, std::string_view& tail,
                     std::string_view& value) noexcept {
  if (raw.size() < 2)
    return MDB_CORRUPTED;
  size_t n = (static_cast<size_t>(static_cast<uint8_t>(raw[0])) << 8) |
             static_cast<uint8_t>(raw[1]);
  if (raw.size() < 2 + n)
    return MDB_CORRUPTED;
  tail = raw.substr(2, n);
  value = raw.substr(2 + n);
  return 0;
}

// Closes a cursor when leaving scope.
struct cursor_guard {
  MDB_cursor* cursor = nullptr;
  ~cursor_guard() {
    if (cursor != nullptr)
      mdb_cursor_close(cursor);
  }
};

// Searches the chain of long key `key` (stem already in `stem`). On a hit,
// sets `chain` to its number and `value` to its user value; otherwise sets
// `chain` to the first free number (no_chain if none is left) and leaves
// `value` empty.
int find_long(MDB_txn* txn, MDB_dbi dbi, const std::string& stem,
              std::string_view key, uint32_t& chain,
              std::optional<std::string_view>& value) {
  value.reset();
  cursor_guard guard;
  if (auto rc = mdb_cursor_open(txn, dbi, &guard.cursor))
    return rc;
  auto tail = key.substr(direct_key_max);
  uint32_t expected = 0;
  uint32_t free_chain = no_chain;
  MDB_val k = as_val(stem);
  MDB_val v;
  auto rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_NEXT)) {
    auto kv = as_view(k);
    if (kv.size() != stem.size() + 2 || !starts_with(kv, stem))
      break;
    auto hi = static_cast<uint8_t>(kv[stem.size()]);
    auto lo = static_cast<uint8_t>(kv[stem.size() + 1]);
    uint32_t nr = (uint32_t{hi} << 8) | lo;
    if (free_chain == no_chain && nr != expected)
      free_chain = expected;
    expected = nr + 1;
    std::string_view stored_tail;
    std::string_view stored_value;
    if (auto err = parse_long_value(as_view(v), stored_tail, stored_value))
      return err;
    if (stored_tail == tail) {
      chain = nr;
      value = stored_value;
      return 0;
    }
  }
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc;
  chain = free_chain != no_chain ? free_chain : expected;
  return 0;
}

void append_chain(std::string& out, uint32_t chain) {
  out.push_back(static_cast<char>((chain >> 8) & 0xFF));
  out.push_back(static_cast<char>(chain & 0xFF));
}

} // namespace

base_key make_base(uint32_t ns, const object_bytes& id) noexcept {
  base_key result;
  result[0] = static_cast<char>((ns >> 24) & 0xFF);
  result[1] = static_cast<char>((ns >> 16) & 0xFF);
  result[2] = static_cast<char>((ns >> 8) & 0xFF);
  result[3] = static_cast<char>(ns & 0xFF);
  std::memcpy(result.data() + 4, id.data(), id.size());
  return result;
}

std::string prefix_end(std::string_view x) {
  std::string result{x};
  while (!result.empty() && static_cast<uint8_t>(result.back()) == 0xFF)
    result.pop_back();
  if (!result.empty())
    result.back() = static_cast<char>(static_cast<uint8_t>(result.back()) + 1);
  return result;
}

void set_key_hash_mask_for_testing(uint64_t mask) noexcept {
  key_hash_mask = mask;
}

// -- point operations ---------------------------------------------------------

int kv_get(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string& scratch,
           std::optional<std::string_view>& value) {
  value.reset();
  if (key.size() <= direct_key_max) {
    scratch.assign(base.data(), base.size());
    scratch.append(key);
    MDB_val k = as_val(scratch);
    MDB_val v;
    auto rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0)
      value = as_view(v);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }
  make_stem(scratch, base, key);
  uint32_t chain = 0;
  return find_long(txn, dbi, scratch, key, chain, value);
}

int kv_put(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string_view value, std::string& scratch) {
  if (key.size() <= direct_key_max) {
    scratch.assign(base.data(), base.size());
    scratch.append(key);
    MDB_val k = as_val(scratch);
    MDB_val v = as_val(value);
    return mdb_put(txn, dbi, &k, &v, 0);
  }
  make_stem(scratch, base, key);
  uint32_t chain = 0;
  std::optional<std::string_view> old;
  if (auto rc = find_long(txn, dbi, scratch, key, chain, old))
    return rc;
  if (chain == no_chain)
    return key_chain_exhausted;
  append_chain(scratch, chain);
  auto tail = key.substr(direct_key_max);
  MDB_val k = as_val(scratch);
  MDB_val v{2 + tail.size() + value.size(), nullptr};
  if (auto rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE))
    return rc;
  auto* out = static_cast<char*>(v.mv_data);
  out[0] = static_cast<char>((tail.size() >> 8) & 0xFF);
  out[1] = static_cast<char>(tail.size() & 0xFF);
  std::memcpy(out + 2, tail.data(), tail.size());
  if (!value.empty())
    std::memcpy(out + 2 + tail.size(), value.data(), value.size());
  return 0;
}

int kv_del(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string& scratch) {
  if (key.size() <= direct_key_max) {
    scratch.assign(base.data(), base.size());
    scratch.append(key);
  } else {
    make_stem(scratch, base, key);
    uint32_t chain = 0;
    std::optional<std::string_view> old;
    if (auto rc = find_long(txn, dbi, scratch, key, chain, old))
      return rc;
    if (!old)
      return 0;
    append_chain(scratch, chain);
  }
  MDB_val k = as_val(scratch);
  auto rc = mdb_del(txn, dbi, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int kv_clear_some(MDB_txn* txn, MDB_dbi dbi, const base_key& base, size_t max,
                  size_t& removed, bool& done) {
  removed = 0;
  done = false;
  cursor_guard guard;
  if (auto rc = mdb_cursor_open(txn, dbi, &guard.cursor))
    return rc;
  // Seek afresh after each delete instead of relying on where LMDB leaves a
  // cursor after mdb_cursor_del: a few more comparisons, no subtleties.
  for (;;) {
    MDB_val k = as_val(view(base));
    MDB_val v;
    auto rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND ||
        (rc == 0 && !starts_with(as_view(k), view(base)))) {
      done = true;
      return 0;
    }
    if (rc != 0)
      return rc;
    if (removed == max)
      return 0;
    if ((rc = mdb_cursor_del(guard.cursor, 0)) != 0)
      return rc;
    ++removed;
  }
}

// -- kv_scanner ---------------------------------------------------------------

kv_scanner::kv_scanner(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
                       std::optional<std::string_view> lo,
                       std::optional<std::string_view> hi, bool reverse)
    : txn_(txn),
      dbi_(dbi),
      base_(view(base)),
      lo_(lo),
      hi_(hi),
      reverse_(reverse) {
  // nop
}

kv_scanner::~kv_scanner() {
  if (cursor_ != nullptr)
    mdb_cursor_close(cursor_);
}

int kv_scanner::next(bool& found, std::string& key, std::string_view& value) {
  found = false;
  if (!started_) {
    started_ = true;
    if (auto rc = position())
      return rc;
  }
  while (!done_) {
    if (group_pos_ < group_.size()) {
      auto& x = group_[group_pos_++];
      key.assign(group_prefix_);
      key.append(x.tail);
      value = x.value;
    } else if (!valid_) {
      done_ = true;
      return 0;
    } else {
      auto user = as_view(key_).substr(base_size);
      if (user.size() > direct_key_max) {
        if (user.size() != long_key_size)
          return MDB_CORRUPTED;
        if (auto rc = load_group(user.substr(0, direct_key_max)))
          return rc;
        continue;
      }
      key.assign(user);
      value = as_view(value_);
      if (auto rc = step())
        return rc;
    }
    if (past(key)) {
      done_ = true;
      return 0;
    }
    if (!before(key)) {
      found = true;
      return 0;
    }
  }
  return 0;
}

int kv_scanner::position() {
  if (auto rc = mdb_cursor_open(txn_, dbi_, &cursor_))
    return rc;
  std::string seek{base_};
  int rc = 0;
  if (!reverse_) {
    // Everything below base + trunc(lo) is below lo as a full key.
    if (lo_)
      seek.append(lo_->substr(0, direct_key_max));
    key_ = as_val(seek);
    rc = mdb_cursor_get(cursor_, &key_, &value_, MDB_SET_RANGE);
  } else {
    // Start below the first entry that is above hi as a full key: hi itself
    // for a short bound, past the whole group of trunc(hi) for a long one.
    if (hi_ && hi_->size() <= direct_key_max) {
      seek.append(*hi_);
    } else {
      if (hi_)
        seek.append(hi_->substr(0, direct_key_max));
      seek = prefix_end(seek);
    }
    if (seek.empty()) {
      rc = mdb_cursor_get(cursor_, &key_, &value_, MDB_LAST);
    } else {
      key_ = as_val(seek);
      rc = mdb_cursor_get(cursor_, &key_, &value_, MDB_SET_RANGE);
      if (rc == 0)
        rc = mdb_cursor_get(cursor_, &key_, &value_, MDB_PREV);
      else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cursor_, &key_, &value_, MDB_LAST);
    }
  }
  if (rc == MDB_NOTFOUND) {
    valid_ = false;
    return 0;
  }
  if (rc != 0)
    return rc;
  valid_ = starts_with(as_view(key_), base_);
  return 0;
}

int kv_scanner::step() {
  auto rc =
      mdb_cursor_get(cursor_, &key_, &value_, reverse_ ? MDB_PREV : MDB_NEXT);
  if (rc == MDB_NOTFOUND) {
    valid_ = false;
    return 0;
  }
  if (rc != 0)
    return rc;
  valid_ = starts_with(as_view(key_), base_);
  return 0;
}

int kv_scanner::load_group(std::string_view prefix) {
  group_.clear();
  group_pos_ = 0;
  group_prefix_ = prefix;
  while (valid_) {
    auto user = as_view(key_).substr(base_size);
    if (user.size() != long_key_size ||
        user.substr(0, direct_key_max) != prefix)
      break;
    member x;
    if (auto rc = parse_long_value(as_view(value_), x.tail, x.value))
      return rc;
    group_.push_back(x);
    if (auto rc = step())
      return rc;
  }
  if (reverse_)
    std::sort(group_.begin(), group_.end(),
              [](const member& x, const member& y) { return x.tail > y.tail; });
  else
    std::sort(group_.begin(), group_.end(),
              [](const member& x, const member& y) { return x.tail < y.tail; });
  return 0;
}

} // namespace durable::detail
