#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include <caf/expected.hpp>

#include "durable/catalog.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/object_id.hpp"

namespace durable::cluster {

/// Where objects live in a cluster:
/// - a unique ID names its node in its placement tag (bytes 1..2);
/// - without a coordinator, a named ID belongs to the node with the highest
///   rendezvous score among the nodes allowed to hold its jurisdiction
///   (`owner`): pure and cheap, every node computes the same owner;
/// - with one, a named ID belongs to the node its claim names, chosen on
///   first access by `place_named` and then never changed.
/// Safe to call from any thread.
class placement {
public:
  // -- constructors -----------------------------------------------------------

  /// Placement as seen from node `self` (a number of `cat`; a number outside
  /// the catalog only makes `self` hold nothing and stand nowhere).
  placement(catalog cat, uint16_t self);

  placement(const placement&) = delete;
  placement& operator=(const placement&) = delete;

  // -- queries ----------------------------------------------------------------

  /// The number of the node that owns `id`. A unique ID with tag 0 (made
  /// outside a cluster) belongs to `self`. Returns 0 when no node of the
  /// catalog may hold the ID's jurisdiction, or its tag names no node or a
  /// node that may not hold the ID's jurisdiction (never route such an ID).
  /// Named IDs: the rendezvous score mixes bytes 16..23 of the ID (its MAC,
  /// uniformly random) with each node number; the highest score wins, ties
  /// go to the lower number. The score function is a contract between the
  /// nodes of a cluster: changing it moves named objects.
  /// No allocation, O(allowed nodes).
  uint16_t owner(const object_id& id) const noexcept;

  /// The placement tag for a new unique ID of jurisdiction `j`: among the
  /// nodes allowed to hold `j`, `self` if it may and there is no hint, else
  /// the nodes of the region nearest to `hint` (or to `self`'s region
  /// without a hint), in turn. `errc::no_placement` when no node may hold
  /// `j`.
  caf::expected<uint16_t> place_unique(jurisdiction j,
                                       location_hint hint) const;

  /// The node for a new named ID of jurisdiction `j`, accessed for the first
  /// time through this node with `hint`: this node when there is no hint and
  /// it may hold `j`; else, among the allowed nodes for which `live` is true,
  /// those nearest to `hint` (or to this node's region without a hint), this
  /// node if it is one of them, else one of them in turn.
  /// `errc::no_placement` when no node may hold `j`, `errc::unavailable`
  /// when none of those that may is live.
  caf::expected<uint16_t>
  place_named(jurisdiction j, location_hint hint,
              const std::function<bool(uint16_t)>& live) const;

  /// Whether node `number` is in the catalog and may hold jurisdiction `j`.
  bool may_hold(uint16_t number, jurisdiction j) const noexcept;

  /// A fixed distance between two regions (0 for the same one; `none` is
  /// far from everything), used to pick the nearest allowed node.
  static uint32_t distance(location_hint x, location_hint y) noexcept;

  const catalog& nodes() const noexcept { return cat_; }

  uint16_t self() const noexcept { return self_; }

private:
  struct candidate {
    uint64_t salt; ///< The node number mixed once, for the score.
    uint16_t number;
    location_hint region;
  };

  /// Among the nodes that may hold `j` (and are `live`, if given), one of
  /// those nearest to `target`: `self` if it is one and `prefer_self`, else
  /// each in turn.
  caf::expected<uint16_t>
  nearest(jurisdiction j, location_hint target, bool prefer_self,
          const std::function<bool(uint16_t)>* live) const;

  /// The candidates for jurisdiction code `code` (0..7).
  const std::vector<candidate>& allowed(jurisdiction j) const noexcept {
    return allowed_[static_cast<uint8_t>(j) & 7];
  }

  catalog cat_;
  uint16_t self_;
  location_hint self_region_ = location_hint::none;
  /// Per jurisdiction code: the nodes that may hold it, in catalog order.
  std::array<std::vector<candidate>, 8> allowed_;
  /// Per node number: bit `1 << code` for each jurisdiction the node may
  /// hold (bit 0, no jurisdiction, for every node); 0 outside the catalog.
  std::vector<uint8_t> holds_;
  /// Spreads unique IDs over equally near nodes.
  mutable std::atomic<uint32_t> turn_{0};
};

} // namespace durable::cluster
