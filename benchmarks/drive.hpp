#pragma once

// Drives one request to each of `total` indices: client actors keep `depth`
// requests in flight each, every request going to the next unused index.
// Used where each target is touched once (activation, million).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include <caf/all.hpp>

namespace bench {

/// Shared by the client actors of one measurement.
struct drive_state {
  using clock_type = std::chrono::steady_clock;
  size_t total = 0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<size_t> failed{0};
  /// When the last reply arrived (steady clock ticks).
  std::atomic<clock_type::rep> finished{0};

  clock_type::time_point finish_time() const {
    return clock_type::time_point{clock_type::duration{finished.load()}};
  }
};

/// A client actor: keeps `depth` requests in flight, each to the next unused
/// index, until all `total` indices are taken. `send(self, i, done)` issues
/// request `i` and calls `done(ok)` on its reply.
template <class Send>
caf::behavior driver(caf::event_based_actor* self, drive_state* st, int depth,
                     Send send) {
  auto loop = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = loop;
  *loop = [=] {
    auto i = st->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= st->total)
      return;
    send(self, i, [=](bool ok) {
      if (!ok)
        st->failed.fetch_add(1, std::memory_order_relaxed);
      if (st->done.fetch_add(1, std::memory_order_acq_rel) + 1 == st->total)
        st->finished.store(
            drive_state::clock_type::now().time_since_epoch().count());
      if (auto f = weak.lock())
        (*f)();
    });
  };
  for (int i = 0; i < depth; ++i)
    (*loop)();
  // The behavior owns the loop.
  return {[loop](caf::atom_value) {}};
}

} // namespace bench
