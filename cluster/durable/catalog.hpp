#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/node.hpp"

namespace durable::cluster {

/// A `host:port` pair of the catalog.
struct endpoint {
  std::string host;
  uint16_t port = 0;

  /// `host:port`.
  std::string to_string() const;
};

/// One node of the cluster as the catalog describes it.
struct node_entry {
  std::string name;
  /// Permanent and never reused: unique IDs made by this node carry it.
  uint16_t number = 0;
  endpoint basp; ///< BASP over TLS, node to node.
  endpoint http; ///< The HTTP front door.
  location_hint region = location_hint::none;
  /// The restricted jurisdictions this node may hold (objects without one
  /// run everywhere).
  std::vector<jurisdiction> jurisdictions;

  bool may_hold(jurisdiction j) const noexcept;

  /// What the node's deployment needs: its region and jurisdictions.
  node_description description() const;
};

/// The static membership of a cluster, the same on every node: data never
/// moves between nodes, so neither do nodes come and go.
///
/// JSON form:
/// ```
/// {"cluster": "demo",
///  "nodes": [{"name": "n1", "number": 1, "basp": "127.0.0.1:7101",
///             "http": "127.0.0.1:8101", "region": "weur",
///             "jurisdictions": ["eu"]}, ...]}
/// ```
/// `jurisdictions` may be omitted: the node holds all of them.
///
/// Rules (each broken one is an `errc::invalid_argument` naming the node and
/// field): at most 1 MiB of text; no unknown or repeated fields; `cluster`
/// and node names are 1 to 64 of [A-Za-z0-9._-]; 1 to 1000 nodes; names,
/// numbers (1..65534; 0 means "made outside a cluster", 65535 is reserved) and
/// addresses (basp and http alike) are unique; a port is 1..65535; `region` is
/// a location hint name; `jurisdictions` lists restricted jurisdictions, each
/// once.
class catalog {
public:
  // -- constructors -----------------------------------------------------------

  /// Parses and validates a catalog; errors (`errc::invalid_argument`) say
  /// which node and field is wrong.
  static caf::expected<catalog> parse(std::string_view json);

  /// Reads and parses the catalog file at `path`.
  static caf::expected<catalog> load(const std::string& path);

  // -- properties -------------------------------------------------------------

  const std::string& name() const noexcept { return name_; }

  const std::vector<node_entry>& nodes() const noexcept { return nodes_; }

  /// The node with `number`, or null.
  const node_entry* find(uint16_t number) const noexcept;

  /// The node named `name`, or null.
  const node_entry* find(std::string_view name) const noexcept;

private:
  std::string name_;
  std::vector<node_entry> nodes_;
};

} // namespace durable::cluster
