#include "durable/metric_cells.hpp"

namespace durable::detail {

size_t metric_cell() noexcept {
  static std::atomic<size_t> next{0};
  thread_local size_t mine =
      next.fetch_add(1, std::memory_order_relaxed) % metric_cell_count;
  return mine;
}

} // namespace durable::detail
