#pragma once

// The raw LMDB baselines: increments of counters stored in a plain LMDB
// environment, committed (and fsync'd) one by one or in batches.

#include <lmdb.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

namespace bench {

class raw_lmdb {
public:
  explicit raw_lmdb(const std::string& dir) {
    ::mkdir(dir.c_str(), 0755);
    check(mdb_env_create(&env_));
    check(mdb_env_set_mapsize(env_, size_t{1} << 30));
    check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0644));
    MDB_txn* txn;
    check(mdb_txn_begin(env_, nullptr, 0, &txn));
    check(mdb_dbi_open(txn, nullptr, 0, &dbi_));
    check(mdb_txn_commit(txn));
  }

  ~raw_lmdb() { mdb_env_close(env_); }

  raw_lmdb(const raw_lmdb&) = delete;
  raw_lmdb& operator=(const raw_lmdb&) = delete;

  /// Increments counters picked by `next_key` for `seconds`, committing
  /// every `batch` increments; returns increments per second.
  double run(double seconds, int batch,
             const std::function<uint32_t()>& next_key) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::duration<double>(seconds);
    auto start = clock::now();
    uint64_t done = 0;
    while (clock::now() < deadline) {
      MDB_txn* txn;
      check(mdb_txn_begin(env_, nullptr, 0, &txn));
      for (int i = 0; i < batch; ++i) {
        auto k = next_key();
        MDB_val key{sizeof(k), &k};
        MDB_val val;
        int64_t value = 0;
        if (mdb_get(txn, dbi_, &key, &val) == 0)
          std::memcpy(&value, val.mv_data, sizeof(value));
        ++value;
        MDB_val out{sizeof(value), &value};
        check(mdb_put(txn, dbi_, &key, &out, 0));
      }
      check(mdb_txn_commit(txn));
      done += static_cast<uint64_t>(batch);
    }
    return done / std::chrono::duration<double>(clock::now() - start).count();
  }

  /// Latency of one fsync'd single-increment commit, in microseconds.
  double commit_latency_us(uint32_t key) {
    auto start = std::chrono::steady_clock::now();
    run_once(key);
    return std::chrono::duration<double, std::micro>(
               std::chrono::steady_clock::now() - start)
        .count();
  }

private:
  void run_once(uint32_t k) {
    MDB_txn* txn;
    check(mdb_txn_begin(env_, nullptr, 0, &txn));
    MDB_val key{sizeof(k), &k};
    int64_t value = 1;
    MDB_val out{sizeof(value), &value};
    check(mdb_put(txn, dbi_, &key, &out, 0));
    check(mdb_txn_commit(txn));
  }

  static void check(int rc) {
    if (rc != 0)
      throw std::runtime_error(std::string{"lmdb: "} + mdb_strerror(rc));
  }

  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

} // namespace bench
