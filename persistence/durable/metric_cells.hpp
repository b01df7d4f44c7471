#pragma once

#include <array>
#include <atomic>
#include <cstddef>

namespace durable::detail {

/// Cells a sharded metric spreads over; threads beyond share them.
inline constexpr size_t metric_cell_count = 8;

/// The cell of the calling thread: threads take cells round robin on first
/// use, so that the threads that record most (CAF's workers, the commit
/// writers, the HTTP I/O threads) mostly write cache lines of their own.
size_t metric_cell() noexcept;

/// A number kept as a sum of per-thread cells, each on its own cache line:
/// adding is one relaxed atomic add to a line no other thread writes often,
/// so a metric bumped on every request costs no cache-line ping-pong between
/// cores. Reading sums the cells (exact once writers are quiet; a concurrent
/// reader may miss adds in flight, never sees torn values).
template <class T>
class metric_cells {
public:
  void add(T x) noexcept {
    cells_[metric_cell()].value.fetch_add(x, std::memory_order_relaxed);
  }

  T sum() const noexcept {
    T result = 0;
    for (auto& c : cells_)
      result += c.value.load(std::memory_order_relaxed);
    return result;
  }

private:
  struct alignas(64) cell {
    std::atomic<T> value{0};
  };

  std::array<cell, metric_cell_count> cells_;
};

} // namespace durable::detail
