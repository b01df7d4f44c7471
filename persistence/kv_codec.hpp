#pragma once

// Internal header of the persistence layer (never installed): the layout of
// the `kv` database.
//
// LMDB key = base + encoded user key, base = namespace number (4 bytes,
// big-endian) + object bytes (32). LMDB keys stop at 511 bytes, user keys at
// 2048, so:
//   - a user key of at most `direct_key_max` bytes is stored as it is, and
//     the LMDB value is the user value;
//   - a longer user key K is stored as K[0, direct_key_max) + hash(tail) (8
//     bytes) + chain number (2 bytes), where tail = K[direct_key_max, end);
//     the LMDB value is tail size (2 bytes) + tail + user value. The chain
//     number separates tails whose hashes collide.
// LMDB's byte order of encoded keys equals the byte order of user keys,
// except inside a group of long keys sharing the same truncated prefix P:
// such a group is contiguous (a short key starting with P must equal P, and
// P sorts before all of them, as it does among full keys), so a scan sorts
// each group by tail in memory. Bounds are applied to full keys.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lmdb.h>

#include "durable/storage_types.hpp"

namespace durable::detail {

// -- LMDB values --------------------------------------------------------------

/// Points LMDB at `x` (LMDB does not write through input values).
inline MDB_val as_val(std::string_view x) noexcept {
  return MDB_val{x.size(), const_cast<char*>(x.data())};
}

/// Views the bytes LMDB returned.
inline std::string_view as_view(const MDB_val& x) noexcept {
  return {static_cast<const char*>(x.mv_data), x.mv_size};
}

inline bool starts_with(std::string_view x, std::string_view prefix) noexcept {
  return x.substr(0, prefix.size()) == prefix;
}

// -- layout constants ---------------------------------------------------------

/// Namespace number (4 bytes) + object bytes (32).
constexpr size_t base_size = 36;

/// User keys up to this size are stored as they are.
constexpr size_t direct_key_max = 448;

/// Size of the encoded user part of a long key.
constexpr size_t long_key_size = direct_key_max + 8 + 2;

/// Largest LMDB key of the layout (must not exceed mdb_env_get_maxkeysize).
constexpr size_t max_encoded_key_size = base_size + long_key_size;

/// Return code for "all chain numbers of one hash are taken" (outside the
/// range of LMDB's own codes).
constexpr int key_chain_exhausted = -31000;

/// The key prefix shared by all entries of one object.
using base_key = std::array<char, base_size>;

/// Returns the base of object `id` in namespace `ns`.
base_key make_base(uint32_t ns, const object_bytes& id) noexcept;

/// Returns the smallest byte string greater than every string that starts
/// with `x`, or an empty string if there is none (x is all 0xFF).
std::string prefix_end(std::string_view x);

/// Restricts the long-key hash to `mask` (tests force collisions with it).
void set_key_hash_mask_for_testing(uint64_t mask) noexcept;

// -- point operations (all return an LMDB return code) ------------------------

/// Looks up `key`. On success `value` points into the map (valid for the
/// life of `txn` and until it writes) or is nullopt if the key is absent.
int kv_get(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string& scratch,
           std::optional<std::string_view>& value);

/// Inserts or overwrites `key`.
int kv_put(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string_view value, std::string& scratch);

/// Deletes `key` if present.
int kv_del(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
           std::string_view key, std::string& scratch);

/// Deletes up to `max` keys of the object (first ones first). Sets
/// `removed` to their number and `done` to whether no key of the object is
/// left: large objects are deleted over several transactions.
int kv_clear_some(MDB_txn* txn, MDB_dbi dbi, const base_key& base, size_t max,
                  size_t& removed, bool& done);

// -- range scans --------------------------------------------------------------

/// Walks the keys of one object within [lo, hi) in byte order (descending
/// when `reverse`). Meant for read transactions: returned views point into
/// the map.
class kv_scanner {
public:
  kv_scanner(MDB_txn* txn, MDB_dbi dbi, const base_key& base,
             std::optional<std::string_view> lo,
             std::optional<std::string_view> hi, bool reverse);

  kv_scanner(const kv_scanner&) = delete;
  kv_scanner& operator=(const kv_scanner&) = delete;

  ~kv_scanner();

  /// Moves to the next key. Sets `found` to false once the range is done.
  int next(bool& found, std::string& key, std::string_view& value);

private:
  struct member {
    std::string_view tail;
    std::string_view value;
  };

  int position();

  int step();

  int load_group(std::string_view prefix);

  // Returns whether `key` lies beyond the range in scan direction.
  bool past(const std::string& key) const noexcept {
    return reverse_ ? lo_ && key < *lo_ : hi_ && key >= *hi_;
  }

  // Returns whether `key` lies before the range in scan direction.
  bool before(const std::string& key) const noexcept {
    return reverse_ ? hi_ && key >= *hi_ : lo_ && key < *lo_;
  }

  MDB_txn* txn_;
  MDB_dbi dbi_;
  std::string_view base_;
  std::optional<std::string_view> lo_;
  std::optional<std::string_view> hi_;
  bool reverse_;
  MDB_cursor* cursor_ = nullptr;
  bool started_ = false;
  bool valid_ = false;
  bool done_ = false;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
  std::string_view group_prefix_;
  std::vector<member> group_;
  size_t group_pos_ = 0;
};

} // namespace durable::detail
