#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "durable/object_id.hpp"

namespace durable::cluster {

/// The owners of named IDs this node learned from their claims. Claims never
/// change, so an entry never goes stale; the cache is bounded, and an entry
/// pushed out only costs one more etcd read. Sharded by ID so that readers
/// on many threads rarely meet. Thread-safe.
class claim_cache {
public:
  // -- constructors -----------------------------------------------------------

  /// A cache of at most about `capacity` entries.
  explicit claim_cache(size_t capacity);

  claim_cache(const claim_cache&) = delete;
  claim_cache& operator=(const claim_cache&) = delete;

  // -- access -----------------------------------------------------------------

  /// The owner of `id`, if cached.
  std::optional<uint16_t> find(const object_id& id) const;

  /// Remembers that `owner` holds `id`, pushing out an arbitrary entry of the
  /// same shard when it is full.
  void insert(const object_id& id, uint16_t owner);

  /// Entries held now.
  size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

private:
  static constexpr size_t shard_count = 64;

  struct shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<object_id, uint16_t> owners;
    /// Where the next eviction looks first (walks the buckets round).
    size_t next_victim = 0;
  };

  shard& shard_for(const object_id& id) const noexcept {
    return shards_[(id.hash() >> 7) % shard_count];
  }

  size_t per_shard_;
  mutable std::array<shard, shard_count> shards_;
  std::atomic<size_t> size_{0};
};

} // namespace durable::cluster
