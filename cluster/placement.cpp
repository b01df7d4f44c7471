#include "durable/placement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "durable/errc.hpp"

namespace durable::cluster {

namespace {

/// The splitmix64 finalizer: every input bit flips about half the output
/// bits, so scores of one ID for different nodes look independent.
constexpr uint64_t mix(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Bytes 16..23 of `id` (the start of its MAC), read big-endian so that
/// every node of a cluster computes the same key whatever its byte order.
uint64_t rendezvous_key(const object_id& id) noexcept {
  auto& bytes = id.bytes();
  uint64_t result = 0;
  for (size_t i = 16; i < 24; ++i)
    result = (result << 8) | bytes[i];
  return result;
}

uint8_t bit(jurisdiction j) noexcept {
  return static_cast<uint8_t>(1u << (static_cast<uint8_t>(j) & 7));
}

/// Farther than any two places on earth (half the circumference is about
/// 20 000 km): a node without a region is never nearer than one with.
constexpr uint32_t unknown_distance = 100'000;

/// A rough centre of each region (latitude, longitude in degrees), indexed
/// by `location_hint`; only the order of distances matters.
constexpr double centres[][2] = {
    {0, 0},         // none (unused)
    {37.8, -122.4}, // wnam: San Francisco
    {39.0, -77.5},  // enam: Virginia
    {-23.5, -46.6}, // sam: Sao Paulo
    {48.9, 2.4},    // weur: Paris
    {52.2, 21.0},   // eeur: Warsaw
    {22.3, 114.2},  // apac: Hong Kong
    {35.7, 139.7},  // apac-ne: Tokyo
    {1.4, 103.8},   // apac-se: Singapore
    {-33.9, 151.2}, // oc: Sydney
    {-26.2, 28.0},  // afr: Johannesburg
    {25.2, 55.3},   // me: Dubai
};

constexpr size_t num_regions = sizeof(centres) / sizeof(centres[0]);

static_assert(num_regions == all_location_hints.size() + 1,
              "a centre for every location hint");

using distance_table =
    std::array<std::array<uint32_t, num_regions>, num_regions>;

/// Great-circle distances in km between the centres (haversine), computed
/// for one direction and mirrored: symmetric to the last bit.
distance_table make_distances() noexcept {
  constexpr double radius_km = 6371.0;
  constexpr double rad = 3.14159265358979323846 / 180.0;
  distance_table result{};
  for (size_t x = 1; x < num_regions; ++x)
    for (size_t y = x + 1; y < num_regions; ++y) {
      auto dlat = (centres[y][0] - centres[x][0]) * rad;
      auto dlon = (centres[y][1] - centres[x][1]) * rad;
      auto a = std::sin(dlat / 2) * std::sin(dlat / 2) +
               std::cos(centres[x][0] * rad) * std::cos(centres[y][0] * rad) *
                   std::sin(dlon / 2) * std::sin(dlon / 2);
      auto km = 2 * radius_km * std::asin(std::sqrt(std::min(a, 1.0)));
      result[x][y] = result[y][x] = static_cast<uint32_t>(std::lround(km));
    }
  return result;
}

} // namespace

placement::placement(catalog cat, uint16_t self)
    : cat_(std::move(cat)), self_(self), holds_(65536, 0) {
  for (auto& node : cat_.nodes()) {
    candidate entry{mix(node.number), node.number, node.region};
    auto& mask = holds_[node.number];
    mask = bit(jurisdiction::none);
    for (auto j : node.jurisdictions)
      mask |= bit(j);
    for (uint8_t code = 0; code < allowed_.size(); ++code)
      if (mask & (1u << code))
        allowed_[code].push_back(entry);
    if (node.number == self)
      self_region_ = node.region;
  }
}

uint16_t placement::owner(const object_id& id) const noexcept {
  auto j = id.jurisdiction();
  if (!id.is_named()) {
    auto tag = id.placement_tag();
    if (tag == 0)
      return self_;
    return may_hold(tag, j) ? tag : 0;
  }
  auto key = rendezvous_key(id);
  uint16_t best = 0;
  uint64_t best_score = 0;
  for (auto& node : allowed(j)) {
    auto score = mix(key ^ node.salt);
    if (best == 0 || score > best_score ||
        (score == best_score && node.number < best)) {
      best = node.number;
      best_score = score;
    }
  }
  return best;
}

bool placement::may_hold(uint16_t number, jurisdiction j) const noexcept {
  return (holds_[number] & bit(j)) != 0;
}

caf::expected<uint16_t> placement::place_unique(jurisdiction j,
                                                location_hint hint) const {
  if (hint == location_hint::none && may_hold(self_, j))
    return self_;
  auto target = hint != location_hint::none ? hint : self_region_;
  return nearest(j, target, false, nullptr);
}

caf::expected<uint16_t>
placement::place_named(jurisdiction j, location_hint hint,
                       const std::function<bool(uint16_t)>& live) const {
  if (hint == location_hint::none && may_hold(self_, j))
    return self_;
  auto target = hint != location_hint::none ? hint : self_region_;
  return nearest(j, target, true, &live);
}

caf::expected<uint16_t>
placement::nearest(jurisdiction j, location_hint target, bool prefer_self,
                   const std::function<bool(uint16_t)>* live) const {
  auto& candidates = allowed(j);
  if (candidates.empty())
    return make_error(errc::no_placement,
                      "no node of cluster \"" + cat_.name() +
                          "\" may hold jurisdiction \"" +
                          std::string{storage_name(j)} + "\"");
  auto usable = [&](const candidate& node) {
    return live == nullptr || node.number == self_ || (*live)(node.number);
  };
  // Two passes instead of a list of the nearest: no allocation.
  auto nearest = std::numeric_limits<uint32_t>::max();
  uint32_t count = 0;
  bool self_nearest = false;
  for (auto& node : candidates) {
    if (!usable(node))
      continue;
    auto d = distance(target, node.region);
    if (d < nearest) {
      nearest = d;
      count = 1;
      self_nearest = node.number == self_;
    } else if (d == nearest) {
      ++count;
      self_nearest = self_nearest || node.number == self_;
    }
  }
  if (count == 0)
    return make_error(
        errc::unavailable,
        "no node that may hold jurisdiction \"" + std::string{storage_name(j)} +
            "\" is reachable from node #" + std::to_string(self_));
  if (prefer_self && self_nearest)
    return self_;
  auto pick = turn_.fetch_add(1, std::memory_order_relaxed) % count;
  for (auto& node : candidates)
    if (usable(node) && distance(target, node.region) == nearest && pick-- == 0)
      return node.number;
  return candidates.front().number; // unreachable: `pick` < `count`
}

uint32_t placement::distance(location_hint x, location_hint y) noexcept {
  if (x == y)
    return 0;
  if (x == location_hint::none || y == location_hint::none)
    return unknown_distance;
  static const distance_table table = make_distances();
  auto i = static_cast<size_t>(x);
  auto k = static_cast<size_t>(y);
  if (i >= num_regions || k >= num_regions)
    return unknown_distance;
  return table[i][k];
}

} // namespace durable::cluster
