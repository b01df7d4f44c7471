#include "router_state.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include "claims.hpp"
#include "durable/errc.hpp"
#include "durable/namespace_core.hpp"
#include "durable/stub.hpp"

namespace durable::cluster {

namespace {

/// A response handler that takes any answer. CAF 0.17 behaviors have no
/// catch-all, but a response no handler matches is offered again as
/// `sec::unexpected_response` carrying the original message as its context
/// (scheduled_actor.cpp), so an error handler sees every answer.
template <class F>
caf::behavior any_response(F f) {
  return {[f](caf::error& err) mutable {
    if (err == caf::sec::unexpected_response && !err.context().empty())
      f(std::move(err.context()));
    else
      f(caf::make_message(std::move(err)));
  }};
}

/// The 32 bytes of `id` as four big-endian words, and back.
std::array<uint64_t, 4> to_words(const object_id& id) {
  std::array<uint64_t, 4> result{};
  auto& bytes = id.bytes();
  for (size_t i = 0; i < bytes.size(); ++i)
    result[i / 8] = (result[i / 8] << 8) | bytes[i];
  return result;
}

object_id from_words(const std::array<uint64_t, 4>& words) {
  object_id::bytes_type bytes;
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(words[i / 8] >> (56 - 8 * (i % 8)));
  return object_id{bytes};
}

/// Takes a forward of an authenticated peer: checks it and routes it to
/// the local object. A forward that wants an answer is a request of the
/// peer's router: the object answers that router directly (one hop back,
/// no reply wrapper), so this router's part ends here.
void take_forward(router_actor* self, const std::string& ns_key,
                  const object_id& id, uint8_t hint, caf::message& msg) {
  auto src = self->current_sender();
  auto* element = self->current_mailbox_element();
  if (!src || !element)
    return;
  auto mid = element->mid;
  // The object (or a refusal below) answers, not this handler.
  element->mid.mark_as_answered();
  if (!mid.is_request())
    src = nullptr;
  auto refuse = [&](caf::error err) {
    answer(src, mid, caf::make_message(std::move(err)), self->context());
  };
  auto& st = self->state;
  if (st.authenticated.count(element->sender->node()) == 0) {
    refuse(make_error(errc::unavailable, "no verified hello from this node"));
    return;
  }
  auto core = st.namespaces.find(ns_key);
  if (!core) {
    refuse(make_error(errc::wrong_namespace,
                      "the namespace is not bound on node \"" +
                          st.cfg.mine.node + "\""));
    return;
  }
  if (!core->ids().verify(id)) {
    refuse(make_error(errc::wrong_namespace));
    return;
  }
  auto owner = core->owner(id);
  if (owner == remote_routing::unresolved && st.claims) {
    // No cached claim: the claims actor checks in etcd that this node owns
    // it before anything is spawned.
    st.claims->enqueue(
        caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                  resolve_atom::value, ns_key, id, hint,
                                  std::move(src), mid, std::move(msg), true),
        self->context());
    return;
  }
  if (owner != remote_routing::local) {
    refuse(make_error(errc::no_placement,
                      "node \"" + st.cfg.mine.node +
                          "\" does not own this object (do the catalogs "
                          "differ?)"));
    return;
  }
  core->route_local(id, static_cast<location_hint>(hint), std::move(src), mid,
                    std::move(msg), self->context());
}

caf::behavior router(router_actor* self, router_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  // Answers of peers' objects to this node's forwards, by request ID.
  st.reply_handler = any_response([self](caf::message msg) {
    auto& st = self->state;
    auto i = st.in_flight.find(self->current_message_id().integer_value());
    auto src = self->current_sender();
    if (i == st.in_flight.end() || !src)
      return; // Failed when its link went down, or a stale clean-up.
    auto from = st.authenticated.find(src->node());
    if (from == st.authenticated.end() || from->second != i->second.node)
      return; // Not from the node the request went to.
    auto entry = std::move(i->second);
    st.in_flight.erase(i);
    --st.peers[entry.node].in_flight;
    answer(entry.sender, entry.mid, std::move(msg), self->context());
  });
  for (auto& entry : st.cfg.cfg.nodes.nodes()) {
    if (entry.number == st.cfg.cfg.self)
      continue;
    auto& p = st.peers[entry.number];
    p.entry = &entry;
    p.we_dial = st.cfg.cfg.self < entry.number;
    p.last_error = p.we_dial ? "not dialed yet" : "waiting for its dial";
    publish(self, p);
  }
  self->set_down_handler([=](caf::down_msg& dm) {
    for (auto& [number, p] : self->state.peers)
      if (p.up && p.router.address() == dm.source) {
        link_down(self, p, "link lost: " + to_string(dm.reason));
        if (p.we_dial)
          schedule_dial(self, p);
      }
  });
  return {
      [=](out_atom, uint16_t node, std::string& ns_key, object_id& id,
          uint8_t hint, caf::strong_actor_ptr& sender, caf::message_id mid,
          caf::message& msg) {
        auto& st = self->state;
        auto i = st.peers.find(node);
        if (i == st.peers.end()) {
          answer(sender, mid,
                 caf::make_message(make_error(errc::no_placement,
                                              "the catalog has no node #" +
                                                  std::to_string(node))),
                 self->context());
          return;
        }
        auto& p = i->second;
        if (!p.up) {
          answer(sender, mid, unreachable(p, p.last_error), self->context());
          return;
        }
        auto w = to_words(id);
        if (!mid.is_request() || !sender) {
          self->send(p.router, forward_atom::value, std::move(ns_key), w[0],
                     w[1], w[2], w[3], hint, std::move(msg));
          return;
        }
        if (st.in_flight.size() >= st.cfg.max_in_flight) {
          answer(sender, mid,
                 caf::make_message(make_error(
                     errc::overloaded, "too many requests in flight to other "
                                       "nodes")),
                 self->context());
          return;
        }
        auto out = self->new_request_id(caf::message_priority::normal);
        st.in_flight.emplace(out.response_id().integer_value(),
                             pending{std::move(sender), mid, node});
        ++p.in_flight;
        self->add_multiplexed_response_handler(out.response_id(),
                                               st.reply_handler);
        p.router->enqueue(caf::make_mailbox_element(
                              self->ctrl(), out, {}, forward_atom::value,
                              std::move(ns_key), w[0], w[1], w[2], w[3], hint,
                              std::move(msg)),
                          self->context());
      },
      [=](forward_atom, const std::string& ns_key, uint64_t w0, uint64_t w1,
          uint64_t w2, uint64_t w3, uint8_t hint, caf::message& msg) {
        take_forward(self, ns_key, from_words({w0, w1, w2, w3}), hint, msg);
      },
      [=](hello_atom, hello& theirs) -> caf::result<hello> {
        auto src = self->current_sender();
        if (!src)
          return make_error(errc::invalid_argument, "anonymous hello");
        auto& st = self->state;
        auto err = verify_hello(st.cfg.key, theirs, to_string(src->node()),
                                to_string(self->system().node()), st.cfg.mine,
                                st.cfg.cfg.nodes);
        if (err)
          return err;
        if (!st.mine_ready)
          return make_error(errc::unavailable, "this node is still starting");
        auto& p = st.peers[theirs.number];
        if (p.we_dial)
          return make_error(errc::invalid_argument,
                            "hello refused from \"" + theirs.node +
                                "\": links are dialed by the lower number");
        auto nid = src->node();
        link_up(self, p, theirs, nid);
        return hello_for(self, nid);
      },
      [=](dial_atom, uint16_t number) {
        auto& p = self->state.peers[number];
        if (p.up || p.dialing || !p.we_dial)
          return;
        p.dialing = true;
        self->spawn<caf::detached>(probe, caf::actor_cast<caf::actor>(self),
                                   number, p.entry->basp,
                                   self->state.cfg.cfg.dial_timeout);
      },
      [=](probed_atom, uint16_t number, caf::error& err) {
        on_probed(self, self->state.peers[number], err);
      },
      [=](claims_atom, caf::actor& claims) {
        self->state.claims = std::move(claims);
      },
      [=](start_atom, std::vector<std::string>& names,
          std::vector<std::string>& keys) {
        auto& st = self->state;
        st.mine_ready = true;
        st.cfg.mine.namespace_names = std::move(names);
        st.cfg.mine.namespace_keys = std::move(keys);
        for (auto& [number, p] : st.peers)
          if (p.we_dial)
            self->send(self, dial_atom::value, number);
      },
      [=](stop_atom) {
        for (auto& [number, p] : self->state.peers)
          fail_in_flight(self, number,
                         caf::make_message(make_error(
                             errc::unavailable, "this node is shutting down")));
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& sys, router_config cfg) {
  return sys.spawn(router, std::move(cfg));
}

} // namespace durable::cluster
