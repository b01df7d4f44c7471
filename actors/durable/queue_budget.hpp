#pragma once

#include <atomic>
#include <cstdint>

namespace durable {

/// How many requests the objects of one node may hold admitted but not yet
/// handled, together. Every admission takes a slot before the message is
/// queued anywhere and the object gives it back once the message is handled,
/// so memory stays bounded however fast senders go (open-loop load). Shared
/// by the namespaces of one deployment; thread-safe.
class queue_budget {
public:
  explicit queue_budget(uint64_t limit) noexcept : limit_(limit) {
    // nop
  }

  /// Takes a slot; fails when all are taken (never counts beyond the
  /// limit, not even for a moment).
  bool take() noexcept {
    auto cur = used_.load(std::memory_order_relaxed);
    do {
      if (cur >= limit_)
        return false;
    } while (
        !used_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
  }

  /// Gives back `n` slots taken by `take`.
  void give(uint64_t n = 1) noexcept {
    used_.fetch_sub(n, std::memory_order_relaxed);
  }

  /// Slots taken now.
  uint64_t used() const noexcept {
    return used_.load(std::memory_order_relaxed);
  }

  uint64_t limit() const noexcept { return limit_; }

private:
  std::atomic<uint64_t> used_{0};
  const uint64_t limit_;
};

} // namespace durable
