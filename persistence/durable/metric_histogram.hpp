#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace durable {

/// A distribution over fixed buckets (a Prometheus histogram). Observations
/// are integers in a unit the owner picks (nanoseconds, write sets); the
/// buckets' upper bounds (inclusive, ascending) are in the same unit and the
/// `+Inf` bucket is implicit. Lock-free with relaxed atomics and not sharded:
/// it is made for one recording thread at a time (a commit writer records its
/// own environment's), where nothing contends; several threads may still
/// record correctly.
///
/// Readers count the buckets themselves, so the total is always the sum of
/// the buckets; the sum of the observations may trail a recording in flight.
class metric_histogram {
public:
  /// Buckets at most, besides `+Inf`.
  static constexpr size_t max_bounds = 24;

  /// `bounds` ascending, at most `max_bounds` of them (more are ignored).
  metric_histogram(std::initializer_list<uint64_t> bounds) noexcept
      : metric_histogram(bounds.begin(), bounds.end()) {
    // nop
  }

  /// The bounds in [first, last), as above.
  metric_histogram(const uint64_t* first, const uint64_t* last) noexcept {
    for (; first != last && size_ < max_bounds; ++first)
      bounds_[size_++] = *first;
  }

  metric_histogram(const metric_histogram&) = delete;
  metric_histogram& operator=(const metric_histogram&) = delete;

  /// Records one observation of `x`.
  void observe(uint64_t x) noexcept {
    auto end = bounds_.begin() + size_;
    auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), end, x) -
                                 bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(x, std::memory_order_relaxed);
  }

  /// Number of finite buckets.
  size_t bounds() const noexcept { return size_; }

  /// The upper bound of finite bucket `i`.
  uint64_t bound(size_t i) const noexcept { return bounds_[i]; }

  /// Observations in bucket `i` alone (not cumulative); `i == bounds()` is
  /// the `+Inf` bucket's own share.
  uint64_t count_in(size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }

  /// The sum of all observations.
  uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

private:
  std::array<uint64_t, max_bounds> bounds_{};
  size_t size_ = 0;
  std::array<std::atomic<uint64_t>, max_bounds + 1> counts_{};
  std::atomic<uint64_t> sum_{0};
};

} // namespace durable
