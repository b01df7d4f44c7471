#pragma once

#include <cstdint>

#include "durable/metric_cells.hpp"

namespace durable {

/// A level that goes up and down (a Prometheus gauge), such as requests
/// queued: lock-free and sharded per thread like `metric_counter`. A thread
/// may take out what another put in, so single cells can go negative; their
/// sum is the level.
class metric_gauge {
public:
  void add(int64_t n = 1) noexcept { cells_.add(n); }

  void sub(int64_t n = 1) noexcept { cells_.add(-n); }

  /// The current level.
  int64_t value() const noexcept { return cells_.sum(); }

private:
  detail::metric_cells<int64_t> cells_;
};

} // namespace durable
