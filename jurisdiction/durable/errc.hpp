#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace durable {

/// The error codes of caf-durable, registered with CAF as the error category
/// `durable_category`. Each error carries a human-readable text as context.
enum class errc : uint8_t {
  /// An argument was malformed or out of range (caller's fault, do not retry).
  invalid_argument = 1,
  /// A string that is not 64 hex digits was given as an object ID.
  invalid_id,
  /// An ID does not verify for this namespace (forged or foreign).
  wrong_namespace,
  /// An ID of another jurisdiction reached a jurisdictional sub-namespace.
  wrong_jurisdiction,
  /// A jurisdiction name outside the supported set.
  unsupported_jurisdiction,
  /// A location hint outside the supported set.
  unsupported_location_hint,
  /// This node may not run objects of the requested jurisdiction.
  no_placement,
  /// The object has too much work queued; do not retry at once.
  overloaded,
  /// Temporarily unavailable; retrying may succeed.
  unavailable,
  /// The object was reset (e.g. its storage write failed); state since the
  /// last durable commit is gone. Retrying reaches a fresh instance.
  object_reset,
  /// The object's handler threw; the text is the exception's message.
  exception_thrown,
  /// The storage map is full. Not retryable: retrying cannot succeed until
  /// space is freed. Raised by a turn whose commit did not fit, it also means
  /// the object was reset (its state since the last durable commit is gone).
  storage_full,
  /// Any other storage failure.
  storage_failure,
  /// The object class does not handle this message.
  unsupported_message,
};

/// The CAF error category of `errc`.
constexpr caf::atom_value durable_category = caf::atom("durable");

/// Returns the name of `x`, e.g. `"overloaded"`.
const char* to_string(errc x);

/// Returns the standard text for `x`.
const char* default_message(errc x);

/// Makes an error of category `durable_category` with the standard text.
caf::error make_error(errc x);

/// Makes an error of category `durable_category` with text `what`.
caf::error make_error(errc x, std::string what);

/// Makes an `errc::storage_failure` for a failed system call:
/// "<context>: cannot <what> '<path>': <strerror(err)>".
caf::error make_os_error(std::string_view context, const char* what,
                         const std::string& path, int err);

/// Returns whether `err` is of category `durable_category` with code `x`.
bool is(const caf::error& err, errc x);

/// `err` with `prefix` before its message; same kind (code and category).
caf::error with_context(const caf::error& err, std::string_view prefix);

/// Returns the text stored in a durable error, or CAF's rendering otherwise.
std::string message_of(const caf::error& err);

/// Returns whether retrying the failed call may succeed.
bool is_retryable(const caf::error& err);

/// Returns whether the failure means "overloaded: do not retry now".
bool is_overloaded(const caf::error& err);

/// Returns whether the error was raised by the object itself (a handler threw).
bool is_remote(const caf::error& err);

/// Returns whether the object was reset by the failure.
bool is_object_reset(const caf::error& err);

/// Returns whether the failure means "storage full" (the environment of the
/// object reached its maximum map size); do not retry.
bool is_storage_full(const caf::error& err);

/// Registers the error renderer for `durable_category` with `cfg`.
void add_error_category(caf::actor_system_config& cfg);

} // namespace durable
