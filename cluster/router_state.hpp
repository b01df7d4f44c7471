#pragma once

// The router's state and its link management, shared by router.cpp (the
// behaviour, forwarding) and links.cpp (dialing, hellos, link up and down).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>

#include "namespace_cache.hpp"
#include "router.hpp"

namespace durable::cluster {

using probed_atom = caf::atom_constant<caf::atom("dc_probed")>;

/// A peer node and the link to it.
struct peer {
  const node_entry* entry = nullptr;
  bool we_dial = false; ///< This node makes the link (lower number).
  bool dialing = false; ///< A dial or hello is under way.
  bool up = false;      ///< A hello verified and the router is monitored.
  caf::actor router;    ///< The peer's router (a proxy).
  caf::node_id nid;     ///< The CAF node the hello came from.
  uint64_t incarnation = 0;
  uint64_t in_flight = 0;
  uint64_t downs = 0;
  caf::timespan backoff{0};
  std::string last_error;
};

/// A request of a local sender in flight to a peer.
struct pending {
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  uint16_t node;
};

struct router_state {
  router_config cfg;
  std::map<uint16_t, peer> peers;
  std::map<caf::node_id, uint16_t> authenticated;
  /// Requests in flight, by the ID of the response this router awaits.
  std::unordered_map<uint64_t, pending> in_flight;
  /// Takes every such response (one behaviour for all: a behaviour per
  /// request would cost an allocation each).
  caf::behavior reply_handler;
  /// Namespaces by unique key, as forwards name them.
  namespace_cache namespaces;
  /// Resolves named IDs this node has no cached claim for (etcd mode).
  caf::actor claims;
  /// Whether `start` gave the namespaces: hellos wait for it.
  bool mine_ready = false;
  static inline const char* name = "durable.cluster.router";
};

using router_actor = caf::stateful_actor<router_state>;

// -- links (links.cpp) --------------------------------------------------------

/// The error for a request to `p` while its link is down.
caf::message unreachable(const peer& p, std::string_view why);

/// Shows `p`'s state in the node's link table.
void publish(router_actor* self, const peer& p);

/// This node's hello on the link to CAF node `to`.
hello hello_for(router_actor* self, const caf::node_id& to);

/// Answers every request in flight to `number` with `msg`.
void fail_in_flight(router_actor* self, uint16_t number,
                    const caf::message& msg);

/// Dials `p` again after a growing pause (100 ms to 2 s).
void schedule_dial(router_actor* self, peer& p);

/// The link to `p` is gone: its requests in flight get `unavailable`.
void link_down(router_actor* self, peer& p, std::string why);

/// `theirs` verified: the link to `p` is up.
void link_up(router_actor* self, peer& p, hello& theirs,
             const caf::node_id& nid);

/// Probes the peer's BASP port on a thread of its own.
void probe(caf::blocking_actor* self, caf::actor router, uint16_t number,
           endpoint where, caf::timespan timeout);

/// After a probe: connects through CAF's OpenSSL middleman and says hello,
/// every step bounded by the dial timeout.
void on_probed(router_actor* self, peer& p, const caf::error& err);

} // namespace durable::cluster
