#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

namespace durable::cluster {

/// A node introduces itself on a new link; the peer accepts nothing else
/// from that node before a hello that verifies.
using hello_atom = caf::atom_constant<caf::atom("dc_hello")>;

/// A message for an object of the receiving node:
/// `(forward_atom, std::string ns_key, uint64_t id0..id3, uint8_t hint,
///   caf::message msg)`. Sent as a request by the sender's router when the
/// message wants an answer: the receiving router hands the request (its
/// sender and ID) to the object, whose answer goes straight back to the
/// requesting router; refusals come from the receiving router. The ID's 32
/// bytes travel as four built-in integers (big-endian): a custom type costs
/// its type name and a lookup by name per message in CAF 0.17, and the
/// object's name is not needed by its owner.
using forward_atom = caf::atom_constant<caf::atom("dc_fwd")>;

/// A node's introduction. The MAC (HMAC-SHA256 with a key derived from the
/// deployment secret) covers every field and the CAF node IDs of both ends
/// of the link, so a hello is worth nothing on another link or cluster.
struct hello {
  std::string cluster;
  std::string node;
  uint16_t number = 0;
  /// Random per process start: tells a restarted peer from the old one.
  uint64_t incarnation = 0;
  /// Names and unique keys of the bound namespaces, pairwise.
  std::vector<std::string> namespace_names;
  std::vector<std::string> namespace_keys;
  /// The sender's router, which takes its forwards.
  caf::actor router;
  std::vector<uint8_t> mac;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("durable::cluster::hello"), x.cluster, x.node,
           x.number, x.incarnation, x.namespace_names, x.namespace_keys,
           x.router, x.mac);
}

/// Registers the cluster's message types (prepare() calls it).
void add_message_types(caf::actor_system_config& cfg);

} // namespace durable::cluster
