#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "durable/metric_histogram.hpp"

namespace durable {

/// What one commit writer records per committed write transaction (one
/// group commit, one fsync). Written by the writer thread only; read by
/// anyone (see `commit_writer::metrics`).
struct commit_metrics {
  /// 50 µs to 10 s, in nanoseconds.
  static constexpr std::array<uint64_t, 16> latency_bounds{
      50'000,      100'000,       250'000,       500'000,
      1'000'000,   2'500'000,     5'000'000,     10'000'000,
      25'000'000,  50'000'000,    100'000'000,   250'000'000,
      500'000'000, 1'000'000'000, 2'500'000'000, 10'000'000'000};

  /// Write sets per transaction (an object's turn is one write set; a
  /// chunk of a large `delete_all` counts as one too).
  metric_histogram write_sets{1,   2,   4,   8,    16,   32,   64,
                              128, 256, 512, 1024, 2048, 4096, 8192};

  /// Nanoseconds from the transaction's begin to its durable commit:
  /// applying the write sets, LMDB's page writes and syncs.
  metric_histogram commit_ns{latency_bounds.data(),
                             latency_bounds.data() + latency_bounds.size()};

  /// Nanoseconds in `mdb_txn_commit` alone: LMDB writes the dirty pages,
  /// fdatasyncs them and writes the meta page synchronously, so this is the
  /// time the disk took to make the transaction durable.
  metric_histogram sync_ns{latency_bounds.data(),
                           latency_bounds.data() + latency_bounds.size()};

  /// Bytes of the map in use: LMDB's last used page + 1, times the page size,
  /// as of the last commit. Free pages below it (LMDB reuses them) count.
  std::atomic<uint64_t> map_used_bytes{0};
};

} // namespace durable
