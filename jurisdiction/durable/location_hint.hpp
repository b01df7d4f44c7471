#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <caf/expected.hpp>

namespace durable {

/// A best-effort hint where a new object should run, honoured on its first
/// access only.
enum class location_hint : uint8_t {
  none = 0,
  wnam,
  enam,
  sam,
  weur,
  eeur,
  apac,
  apac_ne,
  apac_se,
  oc,
  afr,
  me,
};

/// Every hint but `none`, in declaration order.
constexpr std::array<location_hint, 11> all_location_hints{
    location_hint::wnam,    location_hint::enam,    location_hint::sam,
    location_hint::weur,    location_hint::eeur,    location_hint::apac,
    location_hint::apac_ne, location_hint::apac_se, location_hint::oc,
    location_hint::afr,     location_hint::me};

/// Returns the public name (e.g. "apac-ne"), or "" for `none`.
std::string_view to_string(location_hint x);

/// Parses a public hint name; anything else is
/// `errc::unsupported_location_hint`.
caf::expected<location_hint> parse_location_hint(std::string_view name);

} // namespace durable
