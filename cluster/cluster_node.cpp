#include "durable/cluster_node.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>

#include <caf/openssl/publish.hpp>
#include <caf/send.hpp>

#include "claim_cache.hpp"
#include "claims.hpp"
#include "durable/errc.hpp"
#include "durable/etcd_client.hpp"
#include "etcd_registry.hpp"
#include "node_lease.hpp"
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

bool link_table::up(uint16_t number) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& link : links_)
    if (link.number == number)
      return link.up;
  return false;
}

std::vector<link_state> link_table::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return links_;
}

// -- node ---------------------------------------------------------------------

node::node(caf::actor_system& sys, deployment& dep, cluster_settings cfg,
           std::shared_ptr<etcd::client> etcd)
    : sys_(sys),
      dep_(dep),
      cfg_(std::move(cfg)),
      places_(cfg_.nodes, cfg_.self),
      links_(std::make_shared<link_table>()),
      etcd_(std::move(etcd)) {
  router_config rc;
  rc.cfg = cfg_;
  auto key = dep_.derive_key("durable-cluster-hello");
  std::copy(key.begin(), key.end(), rc.key.begin());
  rc.mine.cluster = cfg_.nodes.name();
  rc.mine.node = cfg_.self_entry().name;
  rc.mine.number = cfg_.self;
  std::random_device rd;
  incarnation_ = (uint64_t{rd()} << 32) | rd();
  rc.mine.incarnation = incarnation_;
  rc.links = links_;
  router_ = spawn_router(sys_, std::move(rc));
  if (etcd_) {
    auto& coord = cfg_.coordinator;
    claims_cache_ = std::make_shared<claim_cache>(coord.claim_cache);
    claims_config cc;
    cc.self = cfg_.self;
    cc.nodes = cfg_.nodes;
    cc.prefix = etcd_prefix() + "claims/";
    cc.cache = claims_cache_;
    cc.etcd = etcd_;
    cc.links = links_;
    cc.router = router_;
    cc.engine = dep_.shared_engine();
    cc.workers = coord.claim_workers;
    cc.max_waiting = coord.max_waiting_claims;
    claims_ = spawn_claims(sys_, std::move(cc));
    caf::anon_send(router_, claims_atom::value, claims_);
  }
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
  std::shared_ptr<etcd::client> etcd;
  if (cfg.coordinator.kind == coordinator_kind::etcd) {
    etcd::client_options opts;
    opts.endpoints = cfg.coordinator.etcd_endpoints;
    opts.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        cfg.coordinator.etcd_timeout);
    opts.attempt_timeout = std::min(opts.timeout, opts.attempt_timeout);
    opts.max_idle_connections = cfg.coordinator.claim_workers + 2;
    auto made = etcd::client::make(std::move(opts));
    if (!made)
      return std::move(made.error());
    etcd = std::move(*made);
  }
  std::shared_ptr<node> result{
      new node(sys, dep, std::move(cfg), std::move(etcd))};
  if (auto err = dep.attach(result)) {
    result->stop();
    return err;
  }
  // With etcd, the namespace registry is the cluster's: mirrored now, and
  // written there by binds and migrations.
  if (result->etcd_)
    if (auto err = dep.share_registry(make_etcd_registry_log(
            result->etcd_, result->etcd_prefix() + "registry/"))) {
      result->stop();
      return with_context(err,
                          "cannot mirror the cluster's namespace registry: ");
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
  if (etcd_) {
    lease_config lc;
    lc.etcd = etcd_;
    lc.key = etcd_prefix() + "nodes/" + std::to_string(cfg_.self);
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx",
                  static_cast<unsigned long long>(incarnation_));
    lc.incarnation = text;
    lc.ttl = cfg_.coordinator.lease_ttl;
    lc.wait_limit = std::chrono::duration_cast<std::chrono::milliseconds>(
        2 * lc.ttl + cfg_.coordinator.etcd_timeout);
    auto lease = acquire_node_lease(lc);
    if (!lease)
      return make_error(errc::unavailable,
                        "cannot take this node's lease in etcd: " +
                            message_of(lease.error()));
    // Two processes must never serve one node number: a process whose key
    // went to a newer incarnation leaves at once.
    lease_keeper_ = spawn_lease_keeper(
        sys_, std::move(lc), *lease, [](const std::string& why) {
          std::fprintf(stderr, "durable cluster: %s; exiting\n", why.c_str());
          std::_Exit(EXIT_FAILURE);
        });
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
  if (stopped_.exchange(true))
    return;
  if (claims_)
    caf::anon_send(claims_, stop_atom::value);
  caf::anon_send(router_, stop_atom::value);
  if (lease_keeper_)
    caf::anon_send(lease_keeper_, stop_atom::value);
}

std::string node::etcd_prefix() const {
  return "/caf-durable/" + cfg_.nodes.name() + "/";
}

size_t node::cached_claims() const noexcept {
  return claims_cache_ ? claims_cache_->size() : 0;
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
              {"coordinator", etcd_ ? "etcd" : "none"},
              {"cached_claims", cached_claims()},
              {"queued", load.queued},
              {"live_objects", load.live_objects}};
  // Names and error texts are arbitrary bytes: a strict dump would throw.
  return durable::detail::dump_json(result);
}

uint16_t node::owner(const object_id& id) const noexcept {
  if (claims_cache_ && id.is_named()) {
    auto n = claims_cache_->find(id);
    if (!n)
      return remote_routing::unresolved;
    return *n == cfg_.self ? remote_routing::local : *n;
  }
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
  if (number == remote_routing::unresolved) {
    claims_->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                               {}, resolve_atom::value, ns_key,
                                               id, static_cast<uint8_t>(hint),
                                               std::move(sender), mid,
                                               std::move(msg), false),
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
