#include "claims.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "durable/cluster_node.hpp"
#include "durable/errc.hpp"
#include "durable/etcd_client.hpp"
#include "durable/placement.hpp"
#include "durable/remote_routing.hpp"
#include "namespace_cache.hpp"
#include "router.hpp"

namespace durable::cluster {

namespace {

/// Ask a worker: `(claim_atom, object_id id, uint16_t preferred)` → the
/// owner's number.
using claim_atom = caf::atom_constant<caf::atom("dc_claim")>;

/// Parses a claim's value: a node number from 1 to 65534 in decimal.
std::optional<uint16_t> parse_owner(const std::string& text) {
  if (text.empty() || text.size() > 5)
    return std::nullopt;
  uint32_t result = 0;
  for (auto c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    result = result * 10 + static_cast<uint32_t>(c - '0');
  }
  if (result == 0 || result >= remote_routing::unresolved)
    return std::nullopt;
  return static_cast<uint16_t>(result);
}

/// One etcd call at a time, on a thread of its own (the client blocks).
caf::behavior claim_worker(caf::event_based_actor*,
                           std::shared_ptr<etcd::client> etcd,
                           std::string prefix) {
  return {
      [=](claim_atom, const object_id& id,
          uint16_t preferred) -> caf::result<uint16_t> {
        auto got =
            etcd->claim(prefix + to_string(id), std::to_string(preferred));
        if (!got)
          return std::move(got.error());
        if (auto owner = parse_owner(got->owner))
          return *owner;
        return make_error(errc::unavailable,
                          "etcd holds a malformed claim for object " +
                              to_string(id));
      },
  };
}

/// A message waiting for its object's claim.
struct parked {
  std::string ns_key;
  uint8_t hint;
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  caf::message msg;
  bool from_peer;
};

struct claims_state {
  claims_config cfg;
  std::unique_ptr<placement> places;
  /// Messages by the ID whose claim they wait for.
  std::unordered_map<object_id, std::vector<parked>> waiting;
  size_t parked_count = 0;
  /// Claims to make, with the preferred node, once a worker is free.
  std::deque<std::pair<object_id, uint16_t>> queue;
  std::vector<caf::actor> idle;
  namespace_cache namespaces;
  static inline const char* name = "durable.cluster.claims";
};

using claims_actor = caf::stateful_actor<claims_state>;

void reply(claims_actor* self, parked& p, caf::error err) {
  answer(p.sender, p.mid, caf::make_message(std::move(err)), self->context());
}

/// Delivers `p` for `id`, which `owner` holds.
void deliver(claims_actor* self, const object_id& id, uint16_t owner,
             parked& p) {
  auto& st = self->state;
  if (owner == st.cfg.self) {
    auto core = st.namespaces.find(p.ns_key);
    if (!core) {
      reply(self, p,
            make_error(errc::wrong_namespace, "the namespace is not bound "
                                              "on this node"));
      return;
    }
    core->route_local(id, static_cast<location_hint>(p.hint),
                      std::move(p.sender), p.mid, std::move(p.msg),
                      self->context());
    return;
  }
  if (p.from_peer) {
    // Never passed on: a peer that disagrees with etcd gets an error.
    reply(self, p,
          make_error(errc::no_placement,
                     "the claim in etcd gives this object to node #" +
                         std::to_string(owner) + ", not this one"));
    return;
  }
  st.cfg.router->enqueue(
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                out_atom::value, owner, std::move(p.ns_key), id,
                                p.hint, std::move(p.sender), p.mid,
                                std::move(p.msg)),
      self->context());
}

/// Takes the messages waiting for `id` out of the table.
std::vector<parked> take_waiting(claims_actor* self, const object_id& id) {
  auto& st = self->state;
  std::vector<parked> result;
  if (auto i = st.waiting.find(id); i != st.waiting.end()) {
    result = std::move(i->second);
    st.waiting.erase(i);
    st.parked_count -= result.size();
  }
  return result;
}

void failed(claims_actor* self, const object_id& id, const caf::error& err) {
  for (auto& p : take_waiting(self, id))
    reply(self, p, err);
}

void resolved(claims_actor* self, const object_id& id, uint16_t owner) {
  auto& st = self->state;
  auto* entry = st.cfg.nodes.find(owner);
  auto j = id.jurisdiction();
  if (entry == nullptr ||
      (j != jurisdiction::none &&
       std::find(entry->jurisdictions.begin(), entry->jurisdictions.end(), j) ==
           entry->jurisdictions.end())) {
    failed(self, id,
           make_error(errc::no_placement,
                      "the claim in etcd gives this object to node #" +
                          std::to_string(owner) +
                          ", which this node's catalog does not allow to "
                          "hold it (do the catalogs differ?)"));
    return;
  }
  st.cfg.cache->insert(id, owner);
  for (auto& p : take_waiting(self, id))
    deliver(self, id, owner, p);
}

/// Starts claims while workers are free.
void pump(claims_actor* self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.queue.empty()) {
    auto worker = std::move(st.idle.back());
    st.idle.pop_back();
    auto [id, preferred] = st.queue.front();
    st.queue.pop_front();
    // The client bounds every call (etcd-timeout): no CAF timeout needed.
    self->request(worker, caf::infinite, claim_atom::value, id, preferred)
        .then(
            [self, worker, id = id](uint16_t owner) {
              self->state.idle.push_back(worker);
              resolved(self, id, owner);
              pump(self);
            },
            [self, worker, id = id](caf::error& err) {
              self->state.idle.push_back(worker);
              failed(self, id, err);
              pump(self);
            });
  }
}

caf::behavior claims(claims_actor* self, claims_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.places = std::make_unique<placement>(st.cfg.nodes, st.cfg.self);
  for (size_t i = 0; i < st.cfg.workers; ++i)
    st.idle.push_back(self->spawn<caf::detached + caf::linked>(
        claim_worker, st.cfg.etcd, st.cfg.prefix));
  return {
      [=](resolve_atom, std::string& ns_key, const object_id& id, uint8_t hint,
          caf::strong_actor_ptr& sender, caf::message_id mid, caf::message& msg,
          bool from_peer) {
        auto& st = self->state;
        parked p{std::move(ns_key), hint,     std::move(sender), mid,
                 std::move(msg),    from_peer};
        if (auto owner = st.cfg.cache->find(id)) {
          deliver(self, id, *owner, p); // Resolved while it was on its way.
          return;
        }
        if (st.parked_count >= st.cfg.max_waiting) {
          reply(self, p,
                make_error(errc::overloaded, "too many first accesses wait "
                                             "for their claims in etcd"));
          return;
        }
        auto i = st.waiting.find(id);
        if (i == st.waiting.end()) {
          // The first message for this ID decides where it goes (its hint
          // counts only now); a peer's forward names this node.
          uint16_t preferred = st.cfg.self;
          if (!from_peer) {
            auto links = st.cfg.links;
            auto placed = st.places->place_named(
                id.jurisdiction(), static_cast<location_hint>(hint),
                [&links](uint16_t n) { return links->up(n); });
            if (!placed) {
              reply(self, p, std::move(placed.error()));
              return;
            }
            preferred = *placed;
          }
          i = st.waiting.emplace(id, std::vector<parked>{}).first;
          st.queue.emplace_back(id, preferred);
        }
        i->second.push_back(std::move(p));
        ++st.parked_count;
        pump(self);
      },
      [=](stop_atom) {
        auto& st = self->state;
        auto err = make_error(errc::unavailable, "this node is shutting down");
        std::vector<object_id> ids;
        for (auto& [id, msgs] : st.waiting)
          ids.push_back(id);
        for (auto& id : ids)
          failed(self, id, err);
        st.queue.clear();
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_claims(caf::actor_system& sys, claims_config cfg) {
  return sys.spawn(claims, std::move(cfg));
}

} // namespace durable::cluster
