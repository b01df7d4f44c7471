#pragma once

// Internal header of the persistence layer (never installed): one LMDB
// environment, its named databases, the pool of read transactions and the
// lock that makes map growth safe.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <lmdb.h>
#include <pthread.h>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "clear_marker.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/storage_options.hpp"

namespace durable::detail {

/// Turns an LMDB return code into an error: `errc::storage_full` for
/// MDB_MAP_FULL, `errc::unavailable` (retryable) for MDB_READERS_FULL,
/// `errc::storage_failure` with mdb_strerror's text otherwise.
caf::error lmdb_error(std::string_view env_name, const char* op, int rc);

/// A reader-writer lock that prefers writers. Readers hold it shared only
/// while a read transaction is open; the commit writer takes it exclusively
/// to grow the map (mdb_env_set_mapsize requires that no transaction of the
/// process is active). Writer preference keeps a steady stream of short
/// reads from starving a pending growth. Not recursive: a thread must not
/// take it shared twice.
class resize_lock {
public:
  resize_lock();
  ~resize_lock();
  resize_lock(const resize_lock&) = delete;
  resize_lock& operator=(const resize_lock&) = delete;

  void lock_shared() noexcept { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() noexcept { pthread_rwlock_unlock(&lock_); }
  void lock() noexcept { pthread_rwlock_wrlock(&lock_); }
  void unlock() noexcept { pthread_rwlock_unlock(&lock_); }

private:
  pthread_rwlock_t lock_;
};

/// One LMDB environment (one jurisdiction) with the databases `kv`,
/// `alarms`, `alarm_index` and `meta`. Reads may run on any thread; write
/// transactions run only on the environment's commit writer thread (after
/// `open` returns).
class environment {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// Opens (creating when missing) the environment in directory `dir`; with
  /// `opts.read_only`, opens an existing one for reading only.
  static caf::expected<std::shared_ptr<environment>>
  open(jurisdiction which, std::string dir, const storage_options& opts);

  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  ~environment();

  // -- properties -------------------------------------------------------------

  MDB_env* handle() const noexcept { return env_; }

  jurisdiction which() const noexcept { return which_; }

  /// The storage name ("global", "eu", ...), used in error texts.
  std::string_view name() const noexcept { return storage_name(which_); }

  const std::string& dir() const noexcept { return dir_; }

  MDB_dbi kv() const noexcept { return kv_; }
  MDB_dbi alarms() const noexcept { return alarms_; }
  MDB_dbi alarm_index() const noexcept { return alarm_index_; }
  MDB_dbi meta() const noexcept { return meta_; }

  size_t map_size() const noexcept {
    return map_size_.load(std::memory_order_relaxed);
  }

  size_t max_map_size() const noexcept { return max_map_size_; }

  size_t max_batch_bytes() const noexcept { return max_batch_bytes_; }

  /// Returns whether the environment was opened read-only (no lock, no
  /// writer; another process may write it meanwhile).
  bool read_only() const noexcept { return read_only_; }

  /// The objects whose delete_all is under way (see clear_marker.hpp).
  clear_set& clearing() noexcept { return clearing_; }

  /// Makes an error for return code `rc` of LMDB call `op`.
  caf::error error(const char* op, int rc) const {
    return lmdb_error(name(), op, rc);
  }

  // -- reading ----------------------------------------------------------------

  /// Runs `f(MDB_txn*) -> int` inside a read transaction taken from the pool.
  /// Pointers into the map that `f` sees are valid only until `f` returns:
  /// copy what you keep. A non-zero result of `f` becomes the error.
  template <class F>
  caf::error read(const char* op, F&& f) {
    for (int attempt = 0;; ++attempt) {
      {
        shared_guard guard{resize_};
        MDB_txn* txn = nullptr;
        auto rc = acquire_reader(txn);
        if (rc == 0) {
          reader_guard release{this, txn};
          if (auto frc = f(txn))
            return error(op, frc);
          return caf::none;
        }
        // Another process (the writer of a read-only environment) grew the
        // map beyond ours: adopt its size and retry.
        if (rc != MDB_MAP_RESIZED || attempt > 0)
          return error(op, rc);
      }
      if (auto err = adopt_map_size())
        return err;
    }
  }

  // -- copying ----------------------------------------------------------------

  /// Writes a compacted copy of the environment's newest committed snapshot
  /// (`mdb_env_copyfd2` with `MDB_CP_COMPACT`: one read transaction, free
  /// pages left out) to `fd` from offset 0. Works beside a writer in another
  /// process; in this process it delays map growth until it is done.
  caf::error copy_compacted(int fd);

  // -- writing (commit writer thread only) ------------------------------------

  /// Doubles the map size, at most up to the maximum. Returns false when the
  /// map is already at its maximum.
  caf::expected<bool> grow();

private:
  struct shared_guard {
    resize_lock& lock;
    explicit shared_guard(resize_lock& x) : lock(x) { lock.lock_shared(); }
    ~shared_guard() { lock.unlock_shared(); }
  };

  struct reader_guard {
    environment* self;
    MDB_txn* txn;
    ~reader_guard() { self->release_reader(txn); }
  };

  explicit environment(jurisdiction which, std::string dir);

  caf::error open_impl(const storage_options& opts);

  caf::error open_databases_read_only();

  /// Creates `<dir>/initialised` (see data_file_check.hpp) once the first
  /// transaction is durable, and syncs the directory.
  caf::error mark_initialised();

  /// Accepts the format marker `stored` of this layout, else fails.
  caf::error check_format(const std::string& stored) const;

  /// Takes over the map size recorded by a writer in another process.
  caf::error adopt_map_size();

  int acquire_reader(MDB_txn*& txn);

  void release_reader(MDB_txn* txn) noexcept;

  jurisdiction which_;
  std::string dir_;
  int owner_fd_ = -1;
  bool read_only_ = false;
  MDB_env* env_ = nullptr;
  MDB_dbi kv_ = 0;
  MDB_dbi alarms_ = 0;
  MDB_dbi alarm_index_ = 0;
  MDB_dbi meta_ = 0;
  std::atomic<size_t> map_size_{0};
  size_t max_map_size_ = 0;
  size_t max_batch_bytes_ = 0;
  resize_lock resize_;
  // Reset read transactions. With MDB_NOTLS each handle keeps its reader
  // slot while reset, so the pool stays as large as the peak number of
  // concurrent readers and never exceeds the slot count.
  std::mutex readers_mtx_;
  std::vector<MDB_txn*> readers_;
  clear_set clearing_;
};

} // namespace durable::detail
