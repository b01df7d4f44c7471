#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <caf/error.hpp>

#include "durable/commit_metrics.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/write_set.hpp"

namespace durable {

namespace detail {
class environment;
} // namespace detail

/// The single writer of one storage environment. It owns a thread of its own
/// (commits block on fsync and must never block CAF's scheduler threads) and
/// commits write sets by group commit: each round takes every write set
/// submitted so far, applies them in one LMDB write transaction and commits
/// once (one fsync), then runs their completions in submission order.
///
/// Failure isolation: if a round's transaction fails (after growing the map
/// as far as allowed), the writer retries the round's write sets one per
/// transaction, so only the write sets that fail on their own get an error.
/// Once a write set of an object fails, all later write sets of the same
/// object storage fail too (they were computed on top of the lost writes).
///
/// Large deletions: a `delete_all` removes at most `delete_chunk_keys` keys
/// per round (shared by all deletions under way), so that other objects'
/// write sets keep committing in the rounds between. It stays atomic for the
/// object: a marker written with the first chunk makes reads and restarts see
/// the object as empty, its later write sets wait until the last chunk, and
/// a deletion interrupted by a crash or `stop` resumes at the next start.
class commit_writer {
public:
  // -- member types -----------------------------------------------------------

  /// Called once per submitted write set on the writer thread, after the
  /// commit is durable (default error) or with the reason it failed. Must not
  /// block and must not call `flush` or `stop`; may be empty. After it ran,
  /// the writer records the outcome in the object's write chain (see
  /// `object_storage::durable_seq` and `object_storage::on_failure`).
  using completion = std::function<void(const caf::error&)>;

  /// Counters since the writer started.
  struct statistics {
    /// LMDB write transactions committed (one fsync each).
    uint64_t transactions = 0;
    /// Write sets committed.
    uint64_t write_sets = 0;
    /// Write sets that failed.
    uint64_t failed_write_sets = 0;
    /// Rounds whose group transaction failed and were retried one write set
    /// per transaction.
    uint64_t isolated_rounds = 0;
    /// Times the map grew.
    uint64_t map_growths = 0;
    /// Rounds that deleted keys of a `delete_all` spread over several rounds.
    uint64_t delete_rounds = 0;
    /// The longest write transaction (from begin to committed) in
    /// microseconds.
    uint64_t longest_transaction_us = 0;
  };

  // -- constructors, destructors, and assignment operators --------------------

  /// Starts the writer thread of `env` (called by `storage_engine`), which
  /// first resumes the deletions `env` has markers of.
  explicit commit_writer(std::shared_ptr<detail::environment> env,
                         size_t delete_chunk_keys = 10000);

  commit_writer(const commit_writer&) = delete;
  commit_writer& operator=(const commit_writer&) = delete;

  /// Calls `stop`.
  ~commit_writer();

  // -- properties -------------------------------------------------------------

  /// The jurisdiction of the environment this writer commits to.
  jurisdiction which() const noexcept;

  /// Returns a snapshot of the counters.
  statistics stats() const noexcept;

  /// The writer's latency and batch histograms and map use (see
  /// `commit_metrics`), readable from any thread while the writer runs.
  const commit_metrics& metrics() const noexcept;

  /// The environment's current map size in bytes.
  size_t map_size() const noexcept;

  /// The largest the environment's map may grow to, in bytes.
  size_t max_map_size() const noexcept;

  // -- writing ----------------------------------------------------------------

  /// Queues `ws` for commit. An empty write set completes after everything
  /// submitted before it. Calls `done` at once, on the calling thread, with
  /// `errc::invalid_argument` if `ws` belongs to another environment and with
  /// `errc::unavailable` after `stop`.
  void submit(write_set ws, completion done);

  /// Fails `ws` at once with `err` on the calling thread, as the writer
  /// fails a write set (completion first, then the object's failure hook).
  static void refuse(write_set ws, completion done, const caf::error& err);

  /// Blocks until everything submitted before the call has completed. Fails
  /// with `errc::invalid_argument` when called on the writer thread.
  caf::error flush();

  /// Completes everything submitted so far and joins the thread. Idempotent.
  /// A `delete_all` still under way fails with `errc::unavailable` (as do the
  /// write sets of its object waiting behind it); it resumes at the next
  /// start, and its object reads as empty meanwhile.
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace durable
