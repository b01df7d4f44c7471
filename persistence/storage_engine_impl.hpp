#pragma once

// Internal header of the persistence layer (never installed): the state of a
// `storage_engine`, shared by storage_engine.cpp and storage_admin.cpp.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"
#include "lmdb_env.hpp"

namespace durable {

namespace detail {

/// Prefix of the `meta` keys that map namespace keys to numbers.
constexpr std::string_view ns_prefix = "ns/";

/// The `meta` key holding the next free namespace number.
constexpr std::string_view ns_next_key = "ns-next";

/// The `meta` key holding the layout version (see lmdb_env.cpp).
constexpr std::string_view format_meta_key = "format";

std::string be32(uint32_t x);

bool parse_be32(std::string_view x, uint32_t& out);

/// The error of every write attempted through a read-only engine.
caf::error read_only_error();

} // namespace detail

struct storage_engine::impl {
  struct slot {
    std::shared_ptr<detail::environment> env;
    std::unique_ptr<commit_writer> writer;
  };

  storage_options opts;
  std::mutex mtx; // guards opening environments and `stopped`
  std::array<slot, 8> slots;
  // Lock-free lookup for `submit`, set once when the slot opens.
  std::array<std::atomic<commit_writer*>, 8> writers{};
  bool stopped = false;
  std::mutex ns_mtx; // serializes namespace number assignment
  std::map<std::pair<uint8_t, std::string>, uint32_t> ns_cache;

  std::string env_dir(jurisdiction j) const;

  bool env_exists(jurisdiction j) const;

  /// Returns the slot of `j`, opening it if needed; null if the environment
  /// does not exist and `create` is false or the engine is read-only.
  caf::expected<slot*> get(jurisdiction j, bool create);

  /// Like `get(j, true)`, but a missing environment of a read-only engine is
  /// an error.
  caf::expected<slot*> require(jurisdiction j);

  /// Reads `j`'s environment with `fn(txn, env, result)` and returns `result`;
  /// an environment that does not exist reads as an empty `T`. `result` is
  /// reset before each attempt, because reads retry after a map growth.
  template <class T, class F>
  caf::expected<T> read(jurisdiction j, const char* op, F fn) {
    T result{};
    auto s = get(j, false);
    if (!s)
      return std::move(s.error());
    if (*s == nullptr)
      return result;
    auto& env = *(*s)->env;
    auto err = env.read(op, [&](MDB_txn* txn) {
      result = T{};
      return fn(txn, env, result);
    });
    if (err)
      return err;
    return result;
  }
};

} // namespace durable
