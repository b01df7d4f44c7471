#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace durable {

namespace detail {
struct write_set_data;
} // namespace detail

/// The writes of one turn of one object, sealed by `object_storage::end_turn`
/// and committed atomically by a `commit_writer`. A write set is a cheap,
/// immutable handle; the object keeps serving its contents to reads until
/// the commit is confirmed.
class write_set {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// An empty write set: nothing to commit.
  write_set() noexcept = default;

  /// Wraps sealed data (used by `object_storage`).
  explicit write_set(
      std::shared_ptr<const detail::write_set_data> data) noexcept
      : data_(std::move(data)) {
    // nop
  }

  // -- properties -------------------------------------------------------------

  /// Returns whether there is nothing to commit (the turn wrote nothing).
  bool empty() const noexcept { return data_ == nullptr; }

  /// Returns the turn's sequence number within its object: 1, 2, ... in the
  /// order the object sealed its turns; 0 for an empty write set.
  uint64_t seq() const noexcept;

  /// Returns whether output of this turn must wait for the commit: true
  /// unless every write of the turn allowed unconfirmed output.
  bool needs_confirmation() const noexcept;

  /// Returns the number of keys written or deleted (not counting
  /// `delete_all` and alarm changes).
  size_t size() const noexcept;

  /// Returns the approximate number of bytes the write set carries.
  size_t byte_size() const noexcept;

  /// Grants the commit writer access to the sealed data.
  const std::shared_ptr<const detail::write_set_data>& data() const noexcept {
    return data_;
  }

private:
  std::shared_ptr<const detail::write_set_data> data_;
};

} // namespace durable
