#include "router_state.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>

#include "durable/errc.hpp"
#include "tcp_probe.hpp"

namespace durable::cluster {

caf::message unreachable(const peer& p, std::string_view why) {
  std::string text = "node \"" + p.entry->name + "\" (#" +
                     std::to_string(p.entry->number) + ") is unreachable";
  if (!why.empty()) {
    text += ": ";
    text += why;
  }
  return caf::make_message(make_error(errc::unavailable, std::move(text)));
}

void publish(router_actor* self, const peer& p) {
  link_state x;
  x.number = p.entry->number;
  x.name = p.entry->name;
  x.up = p.up;
  x.incarnation = p.incarnation;
  x.in_flight = p.in_flight;
  x.downs = p.downs;
  x.last_error = p.last_error;
  self->state.cfg.links->update(x);
}

/// This node's hello on the link to CAF node `to`.
hello hello_for(router_actor* self, const caf::node_id& to) {
  auto x = self->state.cfg.mine;
  x.router = caf::actor_cast<caf::actor>(self);
  x.mac = hello_mac(self->state.cfg.key, x, to_string(self->system().node()),
                    to_string(to));
  return x;
}

/// Answers every request in flight to `number` with `msg`.
void fail_in_flight(router_actor* self, uint16_t number,
                    const caf::message& msg) {
  auto& st = self->state;
  for (auto i = st.in_flight.begin(); i != st.in_flight.end();) {
    if (i->second.node == number) {
      answer(i->second.sender, i->second.mid, msg, self->context());
      // The response handler stays registered until a response with its
      // ID arrives: send one ourselves (it finds nothing in flight).
      self->enqueue(caf::make_mailbox_element(nullptr,
                                              caf::message_id{i->first}, {},
                                              make_error(errc::unavailable)),
                    self->context());
      i = st.in_flight.erase(i);
    } else {
      ++i;
    }
  }
  st.peers[number].in_flight = 0;
}

void schedule_dial(router_actor* self, peer& p) {
  using namespace std::chrono;
  p.backoff =
      std::clamp<caf::timespan>(p.backoff * 2, milliseconds{100}, seconds{2});
  self->delayed_send(self, p.backoff, dial_atom::value, p.entry->number);
}

void link_down(router_actor* self, peer& p, std::string why) {
  auto& st = self->state;
  if (p.up) {
    st.authenticated.erase(p.nid);
    self->demonitor(p.router);
    ++p.downs;
  }
  p.up = false;
  p.router = nullptr;
  p.last_error = std::move(why);
  fail_in_flight(self, p.entry->number, unreachable(p, p.last_error));
  publish(self, p);
}

void link_up(router_actor* self, peer& p, hello& theirs,
             const caf::node_id& nid) {
  auto& st = self->state;
  if (p.up && p.nid != nid) // A restarted peer: the old link is gone.
    link_down(self, p, "replaced by a new incarnation");
  p.up = true;
  p.dialing = false;
  p.router = std::move(theirs.router);
  p.nid = nid;
  p.incarnation = theirs.incarnation;
  p.backoff = caf::timespan{0};
  p.last_error.clear();
  st.authenticated[nid] = p.entry->number;
  self->monitor(p.router);
  publish(self, p);
}

namespace {

void dial_failed(router_actor* self, peer& p, const caf::error& err) {
  p.dialing = false;
  p.last_error = message_of(err);
  publish(self, p);
  schedule_dial(self, p);
}

} // namespace

/// Probes the peer's BASP port on a thread of its own.
void probe(caf::blocking_actor* self, caf::actor router, uint16_t number,
           endpoint where, caf::timespan timeout) {
  auto err = probe_tcp(where.host, where.port, timeout);
  self->send(router, probed_atom::value, number, std::move(err));
}

void on_probed(router_actor* self, peer& p, const caf::error& err) {
  if (err) {
    dial_failed(self, p, err);
    return;
  }
  auto number = p.entry->number;
  auto timeout = self->state.cfg.cfg.dial_timeout;
  auto mm = self->system().openssl_manager().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, p.entry->basp.host,
                p.entry->basp.port)
      .then(
          [=](const caf::node_id& nid, caf::strong_actor_ptr& ptr,
              const std::set<std::string>&) {
            auto& q = self->state.peers[number];
            if (!ptr) {
              dial_failed(
                  self, q,
                  make_error(errc::unavailable, "no router published there"));
              return;
            }
            auto their_router = caf::actor_cast<caf::actor>(ptr);
            self->request(their_router, timeout, hello_atom::value,
                          hello_for(self, nid))
                .then(
                    [=](hello& theirs) {
                      auto& r = self->state.peers[number];
                      auto err = verify_hello(
                          self->state.cfg.key, theirs, to_string(nid),
                          to_string(self->system().node()),
                          self->state.cfg.mine, self->state.cfg.cfg.nodes);
                      if (!err && theirs.number != number)
                        err = make_error(
                            errc::invalid_argument,
                            "the node at " + r.entry->basp.to_string() +
                                " says it is \"" + theirs.node + "\"");
                      if (err)
                        dial_failed(self, r, err);
                      else
                        link_up(self, r, theirs, nid);
                    },
                    [=](caf::error& err) {
                      dial_failed(self, self->state.peers[number], err);
                    });
          },
          [=](caf::error& err) {
            dial_failed(self, self->state.peers[number], err);
          });
}

} // namespace durable::cluster
