#pragma once

#include <atomic>
#include <cstdint>

#include <caf/expected.hpp>

#include "durable/catalog.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/object_id.hpp"

namespace durable::cluster {

/// Where objects live in a cluster, decided without coordination:
/// - a unique ID names its node in its placement tag (bytes 1..2);
/// - a named ID belongs to the node with the highest rendezvous score among
///   the nodes allowed to hold its jurisdiction.
/// Pure and cheap: every node computes the same owner from the catalog.
/// Safe to call from any thread.
class placement {
public:
  // -- constructors -----------------------------------------------------------

  /// Placement as seen from node `self` (a number of `cat`).
  placement(catalog cat, uint16_t self);

  // -- queries ----------------------------------------------------------------

  /// The number of the node that owns `id`. A unique ID with tag 0 (made
  /// outside a cluster) belongs to `self`. Returns 0 when no node of the
  /// catalog may hold the ID's jurisdiction, or its tag names no node.
  uint16_t owner(const object_id& id) const noexcept;

  /// The placement tag for a new unique ID of jurisdiction `j`: among the
  /// nodes allowed to hold `j`, `self` if it may and there is no hint, else
  /// the nodes of the region nearest to `hint` (or to `self`'s region
  /// without a hint), in turn. `errc::no_placement` when no node may hold
  /// `j`.
  caf::expected<uint16_t> place_unique(jurisdiction j,
                                       location_hint hint) const;

  /// A fixed distance between two regions (0 for the same one; `none` is
  /// far from everything), used to pick the nearest allowed node.
  static uint32_t distance(location_hint x, location_hint y) noexcept;

  const catalog& nodes() const noexcept { return cat_; }

  uint16_t self() const noexcept { return self_; }

private:
  catalog cat_;
  uint16_t self_;
  mutable std::atomic<uint32_t> turn_{0};
};

} // namespace durable::cluster
