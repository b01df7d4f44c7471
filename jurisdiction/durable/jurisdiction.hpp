#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace durable {

/// Where an object may run and where its bytes may be stored. The numeric
/// value is the 3-bit code stored in byte 0 of every object ID (a contract).
enum class jurisdiction : uint8_t {
  none = 0, ///< No restriction ("global").
  eu = 1,
  fedramp = 2,
  fedramp_high = 3,
  us = 4,
};

/// The restricted jurisdictions, in code order.
constexpr std::array<jurisdiction, 4> restricted_jurisdictions{
    jurisdiction::eu, jurisdiction::fedramp, jurisdiction::fedramp_high,
    jurisdiction::us};

/// Returns the public name: "eu", "fedramp", "fedramp-high", "us", or ""
/// for `none`.
std::string_view to_string(jurisdiction x);

/// Returns the name of the storage environment for `x`: its public name, or
/// "global" for `none`.
std::string_view storage_name(jurisdiction x);

/// Parses a public jurisdiction name; anything else is
/// `errc::unsupported_jurisdiction` ("unsupported jurisdiction: \"xx\"").
caf::expected<jurisdiction> parse_jurisdiction(std::string_view name);

/// Converts a 3-bit code back; codes without a jurisdiction are
/// `errc::unsupported_jurisdiction`.
caf::expected<jurisdiction> jurisdiction_from_code(uint8_t code);

} // namespace durable
