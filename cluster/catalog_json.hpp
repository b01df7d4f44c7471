#pragma once

// The JSON side of the catalog: the checks of single fields (parsing is the
// namespace layer's strict reader). Internal to caf_durable_cluster
// (nlohmann::json is a private dependency).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "strict_json.hpp"

#include "durable/catalog.hpp"

namespace durable::cluster::detail {

using json = nlohmann::json;

/// The largest catalog text accepted.
constexpr size_t max_catalog_bytes = 1024 * 1024;

// Shared with the namespace layer's strict reader.
using durable::detail::echo;
using durable::detail::echo_json;

/// A catalog nests 4 levels deep at most (catalog, nodes, node,
/// jurisdictions); anything deeper is wrong, and refusing it early keeps the
/// parser's memory small.
constexpr size_t max_catalog_depth = 4;

// Each check below returns what is wrong with the value, or "".

/// A name: 1 to 64 of [A-Za-z0-9._-].
std::string check_name(const json& x);

/// "host:port": a host without spaces, a port from 1 to 65535.
std::string parse_endpoint(const json& x, endpoint& out);

/// A node number: an integer from 1 to 65534 (65535 means "unresolved" to
/// `remote_routing`).
std::string parse_number(const json& x, uint16_t& out);

/// An array of restricted jurisdiction names, each at most once.
std::string parse_jurisdictions(const json& x, std::vector<jurisdiction>& out);

} // namespace durable::cluster::detail
