#include "claims.hpp"

#include <deque>
#include <map>
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
#include "durable/storage_engine.hpp"
#include "namespace_cache.hpp"
#include "router.hpp"

namespace durable::cluster {

namespace {

/// Ask a worker: `(claim_atom, std::vector<object_id> ids,
/// std::vector<uint16_t> preferred, bool verify)` → the owner of each ID
/// (0 where etcd holds a malformed claim). `verify`: read the claims first
/// (no commit) and claim only those that do not exist.
using claim_atom = caf::atom_constant<caf::atom("dc_claim")>;

/// Record claims this node holds: `(record_atom, std::vector<object_id>)`.
using record_atom = caf::atom_constant<caf::atom("dc_record")>;

/// IDs per etcd transaction, at most.
constexpr size_t max_batch = 64;

/// The meta key under which a node records a claim it holds.
std::string record_key(const object_id& id) {
  return "claim/" + to_string(id);
}

/// Writes the records of `ids` on a thread of its own (a commit blocks),
/// one transaction per jurisdiction. A record only saves an etcd read
/// later, so a failed write is dropped.
caf::behavior claim_recorder(caf::event_based_actor*,
                             std::shared_ptr<storage_engine> engine,
                             std::string owner) {
  return {
      [=](record_atom, const std::vector<object_id>& ids) {
        std::map<jurisdiction, std::vector<std::string>> keys;
        for (auto& id : ids)
          keys[id.jurisdiction()].push_back(record_key(id));
        for (auto& [j, batch] : keys)
          engine->update(j, [&batch, &owner](meta_transaction& txn) {
            for (auto& key : batch)
              if (auto err = txn.put(key, owner))
                return err;
            return caf::error{};
          });
      },
  };
}

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
      [=](claim_atom, const std::vector<object_id>& ids,
          const std::vector<uint16_t>& preferred,
          bool verify) -> caf::result<std::vector<uint16_t>> {
        std::vector<std::string> keys;
        for (auto& id : ids)
          keys.push_back(prefix + to_string(id));
        std::vector<std::string> owners(ids.size());
        std::vector<size_t> open;
        if (verify) {
          auto got = etcd->get_all(keys);
          if (!got)
            return std::move(got.error());
          for (size_t i = 0; i < ids.size(); ++i)
            if ((*got)[i])
              owners[i] = std::move(*(*got)[i]);
            else
              open.push_back(i);
        } else {
          for (size_t i = 0; i < ids.size(); ++i)
            open.push_back(i);
        }
        if (!open.empty()) {
          std::vector<std::string> open_keys, values;
          for (auto i : open) {
            open_keys.push_back(keys[i]);
            values.push_back(std::to_string(preferred[i]));
          }
          auto got = etcd->claim_all(open_keys, values);
          if (!got)
            return std::move(got.error());
          for (size_t n = 0; n < open.size(); ++n)
            owners[open[n]] = std::move((*got)[n]);
        }
        std::vector<uint16_t> result;
        for (auto& text : owners)
          result.push_back(parse_owner(text).value_or(0));
        return result;
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
  /// A claim to make (or, `verify`, to check) once a worker is free.
  struct pending_claim {
    object_id id;
    uint16_t preferred;
    bool verify;
  };
  std::deque<pending_claim> queue;
  std::vector<caf::actor> idle;
  /// Writes records of claims this node holds (null without an engine).
  caf::actor recorder;
  /// IDs this node was found to hold since the last batch: to record.
  std::vector<object_id> to_record;
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
  if (!st.places->may_hold(owner, id.jurisdiction())) {
    failed(self, id,
           make_error(errc::no_placement,
                      "the claim in etcd gives this object to node #" +
                          std::to_string(owner) +
                          ", which this node's catalog does not allow to "
                          "hold it (do the catalogs differ?)"));
    return;
  }
  st.cfg.cache->insert(id, owner);
  if (owner == st.cfg.self && st.recorder)
    st.to_record.push_back(id);
  for (auto& p : take_waiting(self, id))
    deliver(self, id, owner, p);
}

/// Starts claims while workers are free, each worker with up to
/// `max_batch` of them (those that queued up meanwhile) in one transaction.
void pump(claims_actor* self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.queue.empty()) {
    auto worker = std::move(st.idle.back());
    st.idle.pop_back();
    auto verify = st.queue.front().verify;
    std::vector<object_id> ids;
    std::vector<uint16_t> preferred;
    while (!st.queue.empty() && ids.size() < max_batch &&
           st.queue.front().verify == verify) {
      ids.push_back(st.queue.front().id);
      preferred.push_back(st.queue.front().preferred);
      st.queue.pop_front();
    }
    // The client bounds every call (etcd-timeout): no CAF timeout needed.
    self->request(worker, caf::infinite, claim_atom::value, ids, preferred,
                  verify)
        .then(
            [self, worker, ids](const std::vector<uint16_t>& owners) {
              self->state.idle.push_back(worker);
              for (size_t i = 0; i < ids.size(); ++i) {
                if (i < owners.size() && owners[i] != 0)
                  resolved(self, ids[i], owners[i]);
                else
                  failed(self, ids[i],
                         make_error(errc::unavailable,
                                    "etcd holds a malformed claim for "
                                    "object " +
                                        to_string(ids[i])));
              }
              auto& st = self->state;
              if (!st.to_record.empty())
                self->send(st.recorder, record_atom::value,
                           std::move(st.to_record));
              st.to_record.clear();
              pump(self);
            },
            [self, worker, ids](caf::error& err) {
              self->state.idle.push_back(worker);
              for (auto& id : ids)
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
  if (st.cfg.engine)
    st.recorder = self->spawn<caf::detached + caf::linked>(
        claim_recorder, st.cfg.engine, std::to_string(st.cfg.self));
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
        if (i == st.waiting.end() && st.cfg.engine) {
          // Recorded as this node's when it was claimed or checked before (a
          // read of the mapped meta database, no commit): no etcd call.
          auto rec = st.cfg.engine->meta_get(id.jurisdiction(), record_key(id));
          if (rec && *rec && **rec == std::to_string(st.cfg.self)) {
            st.cfg.cache->insert(id, st.cfg.self);
            deliver(self, id, st.cfg.self, p);
            return;
          }
        }
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
          st.queue.push_back({id, preferred, from_peer});
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
