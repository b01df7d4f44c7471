#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/list_options.hpp"
#include "durable/storage_types.hpp"
#include "durable/write_set.hpp"

namespace durable {

namespace detail {
class environment;
} // namespace detail

/// The storage of one durable object, used from the object's handlers. Not
/// thread-safe: one object handles one message at a time, and all calls
/// (including `committed` and `failed`) must come from the object's actor.
///
/// Writes go to the current turn's write set and reads see them at once. At
/// the end of a turn the runtime seals the write set (`end_turn`), submits it
/// to the environment's `commit_writer`, and reports the outcome back with
/// `committed` or `failed`. Until then, reads keep seeing the sealed writes
/// (they overlay the committed state in LMDB), so an object can pipeline
/// turns while commits are in flight.
///
/// Errors are values: invalid arguments yield `errc::invalid_argument` with
/// the original model's texts and leave the state unchanged.
class object_storage {
public:
  // -- member types -----------------------------------------------------------

  using key_value = std::pair<std::string, std::string>;

  // -- constructors, destructors, and assignment operators --------------------

  /// Binds to object `id` of namespace `ns` in `env` (see
  /// `storage_engine::open_object`).
  object_storage(std::shared_ptr<detail::environment> env, uint32_t ns,
                 const object_bytes& id);

  object_storage(object_storage&&) noexcept;
  object_storage& operator=(object_storage&&) noexcept;

  ~object_storage();

  // -- properties -------------------------------------------------------------

  jurisdiction which() const noexcept;

  uint32_t namespace_number() const noexcept;

  object_bytes id() const noexcept;

  // -- reading ----------------------------------------------------------------

  /// Returns the value of `key`, or nullopt if absent.
  caf::expected<std::optional<std::string>> get(std::string_view key);

  /// Returns the found keys among `keys` (at most 128) with their values.
  caf::expected<std::map<std::string, std::string>>
  get(const std::vector<std::string>& keys);

  /// Returns the keys selected by `opts` with their values, in byte order.
  caf::expected<std::vector<key_value>> list(const list_options& opts = {});

  // -- writing ----------------------------------------------------------------

  /// Stores `value` under `key`.
  caf::error put(std::string_view key, std::string_view value,
                 write_options opts = {});

  /// Stores all `entries` (at most 128), all or nothing.
  caf::error put(const std::vector<key_value>& entries,
                 write_options opts = {});

  /// Deletes `key`. Returns whether it existed.
  caf::expected<bool> remove(std::string_view key, write_options opts = {});

  /// Deletes `keys` (at most 128). Returns how many of them existed.
  caf::expected<size_t> remove(const std::vector<std::string>& keys,
                               write_options opts = {});

  /// Deletes all keys and the alarm. Refused inside `transaction`.
  caf::error delete_all(write_options opts = {});

  /// Runs `fn()`. If it throws, its writes are rolled back and the exception
  /// is rethrown; if it returns a `caf::error` or a `caf::expected` holding
  /// an error, its writes are rolled back and the result returned. Nests:
  /// an inner rollback undoes only the inner writes.
  template <class F>
  decltype(auto) transaction(F&& fn) {
    auto mark = begin_transaction();
    using result_type = decltype(fn());
    try {
      if constexpr (std::is_void_v<result_type>) {
        fn();
        end_transaction(mark, false);
      } else {
        decltype(auto) result = fn();
        end_transaction(mark, is_failure(result));
        return result;
      }
    } catch (...) {
      end_transaction(mark, true);
      throw;
    }
  }

  /// Returns whether a `transaction` is running.
  bool in_transaction() const noexcept;

  // -- typed values -----------------------------------------------------------

  /// Stores `x` serialized with CAF's binary serializer (any type with an
  /// `inspect` overload).
  template <class T>
  caf::error put_value(std::string_view key, const T& x,
                       write_options opts = {}) {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    if (auto err = sink(x))
      return err;
    return put(key, std::string_view{buf.data(), buf.size()}, opts);
  }

  /// Reads a value stored by `put_value<T>`.
  template <class T>
  caf::expected<std::optional<T>> get_value(std::string_view key) {
    auto raw = get(key);
    if (!raw)
      return std::move(raw.error());
    if (!*raw)
      return std::optional<T>{};
    caf::binary_deserializer source{nullptr, (*raw)->data(), (*raw)->size()};
    T result{};
    if (auto err = source(result))
      return err;
    if (source.remaining() != 0)
      return trailing_bytes_error(key);
    return std::optional<T>{std::move(result)};
  }

  // -- alarms -----------------------------------------------------------------

  /// Returns the alarm time (ms since the epoch), or nullopt if none is set.
  caf::expected<std::optional<int64_t>> get_alarm();

  /// Sets the alarm to `time_ms` (> 0), replacing any earlier alarm.
  caf::error set_alarm(int64_t time_ms, write_options opts = {});

  /// Deletes the alarm, if any.
  caf::error delete_alarm(write_options opts = {});

  // -- turns (called by the runtime) ------------------------------------------

  /// Seals the current turn's writes. Returns an empty write set if the turn
  /// wrote nothing; otherwise the caller must submit it and later call
  /// `committed` or `failed` with its outcome.
  write_set end_turn();

  /// Returns an empty write set that takes the next sequence number: it
  /// completes after every write set sealed before it, and fails if one of
  /// them failed (output of a turn without writes waits on it).
  write_set barrier();

  /// Drops the current turn's writes (its handler threw).
  void discard_turn();

  /// Reports that the write set with sequence number `seq`, and all before
  /// it, are durable. Reads stop overlaying them.
  void committed(uint64_t seq);

  /// Returns the sequence number up to which the commit writer has made
  /// this storage's write sets durable and run their completions (any
  /// thread may ask; the writer records it).
  uint64_t durable_seq() const noexcept;

  /// Calls `committed(durable_seq())`: the runtime does this at turn
  /// boundaries instead of receiving a message per commit.
  void prune_committed() { committed(durable_seq()); }

  /// Sets the function the commit writer calls (once, on its thread) when a
  /// write set of this storage fails. Set it before the first submit.
  void on_failure(std::function<void(const caf::error&)> fn);

  /// Reports that a commit failed. The storage is broken from now on: every
  /// call fails with `errc::object_reset` until the object is recreated from
  /// its durable state (a new `object_storage`).
  void failed(const caf::error& reason);

  /// Returns whether sealed write sets await `committed`.
  bool has_pending() const noexcept;

  /// Returns the sequence number of the last sealed write set (0 if none).
  /// Output of a turn that wrote nothing may leave once this one commits.
  uint64_t last_sealed() const noexcept;

  /// Returns the sequence number of the last committed write set.
  uint64_t last_committed() const noexcept;

  /// Returns whether the current turn has written anything.
  bool turn_dirty() const noexcept;

private:
  struct impl;

  size_t begin_transaction();

  void end_transaction(size_t mark, bool rollback);

  static caf::error trailing_bytes_error(std::string_view key);

  static bool is_failure(const caf::error& x) noexcept {
    return static_cast<bool>(x);
  }

  template <class T>
  static bool is_failure(const caf::expected<T>& x) noexcept {
    return !x;
  }

  template <class T>
  static bool is_failure(const T&) noexcept {
    return false;
  }

  std::unique_ptr<impl> impl_;
};

} // namespace durable
