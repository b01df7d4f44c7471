#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

#include "durable/jurisdiction.hpp"

namespace durable {

/// The 256-bit identity of a durable object. The layout is a contract (see
/// DESIGN.md, "Identity"): byte 0 holds the format (0x10), the named flag
/// (0x08) and the jurisdiction code (low 3 bits); bytes 16..31 are a MAC
/// that ties the ID to its namespace. An `object_id` itself is only a value:
/// `id_factory` makes and verifies them.
class object_id {
public:
  // -- member types -----------------------------------------------------------

  static constexpr size_t size = 32;

  using bytes_type = std::array<uint8_t, size>;

  // -- constructors -----------------------------------------------------------

  /// An ID of all zero bytes. It never verifies, so it is safe as a
  /// placeholder.
  object_id() noexcept;

  /// Wraps `bytes` as they are (no verification); `name` is the name the ID
  /// was derived from, if known.
  explicit object_id(const bytes_type& bytes, std::string name = {});

  // -- properties -------------------------------------------------------------

  const bytes_type& bytes() const noexcept { return bytes_; }

  /// Returns the ID as 64 lowercase hex digits.
  std::string to_string() const;

  /// The name this ID was derived from; empty for unique IDs and for named
  /// IDs parsed from a string (the name cannot be recovered from the bytes).
  const std::string& name() const noexcept { return name_; }

  /// Returns whether the ID was derived from a name.
  bool is_named() const noexcept { return (bytes_[0] & 0x08) != 0; }

  /// Returns the jurisdiction encoded in byte 0; codes without a jurisdiction
  /// (never produced by a verified ID) yield `jurisdiction::none`.
  durable::jurisdiction jurisdiction() const noexcept;

  /// The node number a unique ID carries in bytes 1..2 (big-endian; 0 when
  /// made outside a cluster). Named IDs carry none: 0.
  uint16_t placement_tag() const noexcept {
    if (is_named())
      return 0;
    return static_cast<uint16_t>((bytes_[1] << 8) | bytes_[2]);
  }

  /// Returns a hash value taken from the MAC bytes (uniformly distributed).
  size_t hash() const noexcept;

  // -- comparison (bytes only, the name is ignored) ---------------------------

  friend bool operator==(const object_id& x, const object_id& y) noexcept {
    return x.bytes_ == y.bytes_;
  }

  friend bool operator!=(const object_id& x, const object_id& y) noexcept {
    return x.bytes_ != y.bytes_;
  }

  friend bool operator<(const object_id& x, const object_id& y) noexcept {
    return x.bytes_ < y.bytes_;
  }

  // -- serialization ----------------------------------------------------------

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, object_id& x) {
    return f(caf::meta::type_name("durable::object_id"), x.bytes_, x.name_);
  }

private:
  bytes_type bytes_;
  std::string name_;
};

/// Returns `x` as 64 lowercase hex digits.
std::string to_string(const object_id& x);

/// Parses exactly 64 hex digits (either case) into `out`. Returns false, and
/// leaves `out` unspecified, for any other input.
bool parse_hex_id(std::string_view hex, object_id::bytes_type& out) noexcept;

} // namespace durable

namespace std {

template <>
struct hash<durable::object_id> {
  size_t operator()(const durable::object_id& x) const noexcept {
    return x.hash();
  }
};

} // namespace std
