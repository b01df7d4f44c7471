#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/storage_types.hpp"

namespace durable {

namespace detail {
struct meta_txn_state;
} // namespace detail

/// One write transaction on an environment, handed to the function given to
/// `storage_engine::update`. It reads and writes the environment's `meta`
/// database (keys reserved by the engine, `format`, `ns/...` and `ns-next`,
/// are refused) and can drop all data of a namespace. Everything commits
/// atomically when the function returns no error and is discarded when it
/// returns one. Valid only during that call.
class meta_transaction {
public:
  // -- member types -----------------------------------------------------------

  using key_value = std::pair<std::string, std::string>;

  // -- constructors -----------------------------------------------------------

  /// Wraps the state of a running transaction (used by the engine).
  explicit meta_transaction(detail::meta_txn_state& state) noexcept;

  meta_transaction(const meta_transaction&) = delete;
  meta_transaction& operator=(const meta_transaction&) = delete;

  // -- properties -------------------------------------------------------------

  /// The jurisdiction of the environment.
  jurisdiction which() const noexcept;

  // -- meta database ----------------------------------------------------------

  /// Returns the value of `key`, or nullopt if absent.
  caf::expected<std::optional<std::string>> get(std::string_view key);

  /// Returns all entries whose key starts with `prefix`, in byte order.
  caf::expected<std::vector<key_value>> scan(std::string_view prefix);

  /// Stores `value` under `key` (at most 400 bytes, not reserved).
  caf::error put(std::string_view key, std::string_view value);

  /// Deletes `key`; absent keys are fine.
  caf::error remove(std::string_view key);

  // -- namespaces -------------------------------------------------------------

  /// Returns the number of namespace `namespace_key` in this environment,
  /// or nullopt if it has none (never assigns one).
  caf::expected<std::optional<uint32_t>>
  find_namespace_number(std::string_view namespace_key);

  /// Deletes every key and alarm (with its time index entry) of every object
  /// of namespace `namespace_key` in this environment and returns what was
  /// removed. The namespace keeps its number (numbers are never reused).
  caf::expected<namespace_usage>
  drop_namespace_data(std::string_view namespace_key);

private:
  detail::meta_txn_state* state_;
};

} // namespace durable
