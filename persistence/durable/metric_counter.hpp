#pragma once

#include <cstdint>

#include "durable/metric_cells.hpp"

namespace durable {

/// A count that only goes up (a Prometheus counter), cheap enough for every
/// request: lock-free, sharded per thread (see `detail::metric_cells`).
class metric_counter {
public:
  void inc(uint64_t n = 1) noexcept { cells_.add(n); }

  /// The count so far.
  uint64_t value() const noexcept { return cells_.sum(); }

private:
  detail::metric_cells<uint64_t> cells_;
};

} // namespace durable
