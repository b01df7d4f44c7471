#pragma once

// The JSON side of the catalog: parsing and the checks of single fields.
// Internal to caf_durable_cluster (nlohmann::json is a private dependency).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "durable/catalog.hpp"

namespace durable::cluster::detail {

using json = nlohmann::json;

/// The largest catalog text accepted.
constexpr size_t max_catalog_bytes = 1024 * 1024;

/// `x` as a JSON string for an error text, cut short: texts echo input.
std::string echo(std::string_view x);

/// `x` as JSON text for an error text, cut short.
std::string echo_json(const json& x);

/// Parses `text` into `out`; returns what is wrong (not JSON, with the byte
/// position; a key twice in one object; nested too deep), or "".
std::string parse_json(std::string_view text, json& out);

// Each check below returns what is wrong with the value, or "".

/// A name: 1 to 64 of [A-Za-z0-9._-].
std::string check_name(const json& x);

/// "host:port": a host without spaces, a port from 1 to 65535.
std::string parse_endpoint(const json& x, endpoint& out);

/// A node number: an integer from 1 to 65535.
std::string parse_number(const json& x, uint16_t& out);

/// An array of restricted jurisdiction names, each at most once.
std::string parse_jurisdictions(const json& x, std::vector<jurisdiction>& out);

} // namespace durable::cluster::detail
