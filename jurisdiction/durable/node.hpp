#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace durable {

/// What one node is: where it stands and which jurisdictions it may hold.
/// Objects without a jurisdiction may run on every node.
class node_description {
public:
  // -- constructors -----------------------------------------------------------

  /// A node that may hold every jurisdiction, with no location.
  node_description();

  node_description(location_hint location,
                   const std::vector<jurisdiction>& allowed);

  /// Reads `durable.location` (a hint name, empty for none) and
  /// `durable.jurisdictions` (a list of names; absent means all) from `cfg`.
  static caf::expected<node_description>
  from_config(const caf::actor_system_config& cfg);

  // -- properties -------------------------------------------------------------

  location_hint location() const noexcept { return location_; }

  /// Returns whether objects of `x` may run and store data on this node.
  bool may_hold(jurisdiction x) const noexcept {
    return x == jurisdiction::none || (allowed_ & bit(x)) != 0;
  }

  /// The restricted jurisdictions this node may hold.
  std::vector<jurisdiction> jurisdictions() const;

private:
  static uint8_t bit(jurisdiction x) noexcept {
    return static_cast<uint8_t>(1u << static_cast<uint8_t>(x));
  }

  location_hint location_;
  uint8_t allowed_;
};

} // namespace durable
