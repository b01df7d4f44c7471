#include "durable/cluster_node.hpp"

#include <random>

#include <nlohmann/json.hpp>

#include <caf/openssl/publish.hpp>
#include <caf/send.hpp>

#include "durable/errc.hpp"
#include "router.hpp"
#include "strict_json.hpp"

namespace durable::cluster {

// -- link_table ---------------------------------------------------------------

void link_table::update(const link_state& x) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& link : links_)
    if (link.number == x.number) {
      link = x;
      return;
    }
  links_.push_back(x);
}

std::vector<link_state> link_table::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return links_;
}

// -- node ---------------------------------------------------------------------

node::node(caf::actor_system& sys, deployment& dep, cluster_settings cfg)
    : sys_(sys),
      dep_(dep),
      cfg_(std::move(cfg)),
      places_(cfg_.nodes, cfg_.self),
      links_(std::make_shared<link_table>()) {
  router_config rc;
  rc.cfg = cfg_;
  auto key = dep_.derive_key("durable-cluster-hello");
  std::copy(key.begin(), key.end(), rc.key.begin());
  rc.mine.cluster = cfg_.nodes.name();
  rc.mine.node = cfg_.self_entry().name;
  rc.mine.number = cfg_.self;
  std::random_device rd;
  rc.mine.incarnation = (uint64_t{rd()} << 32) | rd();
  rc.links = links_;
  router_ = spawn_router(sys_, std::move(rc));
}

node::~node() {
  stop();
}

caf::expected<std::shared_ptr<node>>
node::attach(caf::actor_system& sys, deployment& dep, cluster_settings cfg) {
  if (!sys.has_openssl_manager())
    return make_error(errc::invalid_argument,
                      "the actor system has no OpenSSL module: call "
                      "durable::cluster::prepare on its config first");
  std::shared_ptr<node> result{new node(sys, dep, std::move(cfg))};
  if (auto err = dep.attach(result)) {
    result->stop();
    return err;
  }
  return result;
}

caf::error node::start() {
  if (started_.exchange(true))
    return make_error(errc::invalid_argument, "the node is started already");
  std::vector<std::string> names;
  std::vector<std::string> keys;
  for (auto& [name, ns_key] : dep_.bindings()) {
    names.push_back(name);
    keys.push_back(ns_key);
  }
  caf::anon_send(router_, start_atom::value, std::move(names), std::move(keys));
  auto& where = cfg_.self_entry().basp;
  auto port =
      caf::openssl::publish(router_, where.port, where.host.c_str(), true);
  if (!port)
    return make_error(errc::unavailable, "cannot listen on " +
                                             where.to_string() + ": " +
                                             sys_.render(port.error()));
  port_ = *port;
  return caf::none;
}

void node::stop() {
  if (!stopped_.exchange(true))
    caf::anon_send(router_, stop_atom::value);
}

std::string node::status_json(const deployment::load& load) const {
  using nlohmann::json;
  auto nodes = json::array();
  for (auto& x : cfg_.nodes.nodes()) {
    auto js = json::array();
    for (auto j : x.jurisdictions)
      js.push_back(std::string{to_string(j)});
    nodes.push_back({{"name", x.name},
                     {"number", x.number},
                     {"basp", x.basp.to_string()},
                     {"http", x.http.to_string()},
                     {"region", std::string{to_string(x.region)}},
                     {"jurisdictions", std::move(js)}});
  }
  auto links = json::array();
  for (auto& x : links_->snapshot())
    links.push_back({{"node", x.name},
                     {"number", x.number},
                     {"state", x.up ? "up" : "down"},
                     {"incarnation", x.incarnation},
                     {"in_flight", x.in_flight},
                     {"downs", x.downs},
                     {"last_error", x.last_error}});
  json result{{"cluster", cfg_.nodes.name()},
              {"self", cfg_.self_entry().name},
              {"number", cfg_.self},
              {"nodes", std::move(nodes)},
              {"links", std::move(links)},
              {"queued", load.queued},
              {"live_objects", load.live_objects}};
  // Names and error texts are arbitrary bytes: a strict dump would throw.
  return durable::detail::dump_json(result);
}

uint16_t node::owner(const object_id& id) const noexcept {
  auto n = places_.owner(id);
  return n == cfg_.self || n == 0 ? remote_routing::local : n;
}

caf::expected<uint16_t> node::place_unique(jurisdiction j,
                                           location_hint hint) const {
  return places_.place_unique(j, hint);
}

void node::forward(uint16_t number, const std::string& ns_key,
                   const object_id& id, location_hint hint,
                   caf::strong_actor_ptr sender, caf::message_id mid,
                   caf::message msg, caf::execution_unit* ctx) const {
  if (stopped_.load(std::memory_order_acquire)) {
    answer(sender, mid,
           caf::make_message(
               make_error(errc::unavailable, "this node left the cluster")),
           ctx);
    return;
  }
  router_->enqueue(caf::make_mailbox_element(
                       nullptr, caf::make_message_id(), {}, out_atom::value,
                       number, ns_key, id, static_cast<uint8_t>(hint),
                       std::move(sender), mid, std::move(msg)),
                   ctx);
}

} // namespace durable::cluster
