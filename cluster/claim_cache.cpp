#include "claim_cache.hpp"

#include <algorithm>
#include <mutex>

namespace durable::cluster {

claim_cache::claim_cache(size_t capacity)
    : per_shard_(std::max<size_t>(1, capacity / shard_count)) {
  // Nothing else.
}

std::optional<uint16_t> claim_cache::find(const object_id& id) const {
  auto& sh = shard_for(id);
  std::shared_lock<std::shared_mutex> guard{sh.mtx};
  if (auto i = sh.owners.find(id); i != sh.owners.end())
    return i->second;
  return std::nullopt;
}

void claim_cache::insert(const object_id& id, uint16_t owner) {
  auto& sh = shard_for(id);
  std::unique_lock<std::shared_mutex> guard{sh.mtx};
  if (sh.owners.count(id) > 0)
    return; // Claims never change: the first answer stays.
  if (sh.owners.size() >= per_shard_) {
    // Evict from the next non-empty bucket after the last victim's: cheap,
    // and it never picks the entry about to go in.
    auto buckets = sh.owners.bucket_count();
    for (size_t n = 0; n < buckets; ++n) {
      auto b = (sh.next_victim + n) % buckets;
      if (sh.owners.bucket_size(b) > 0) {
        sh.owners.erase(sh.owners.begin(b)->first);
        sh.next_victim = b + 1;
        size_.fetch_sub(1, std::memory_order_relaxed);
        break;
      }
    }
  }
  sh.owners.emplace(id, owner);
  size_.fetch_add(1, std::memory_order_relaxed);
}

} // namespace durable::cluster
