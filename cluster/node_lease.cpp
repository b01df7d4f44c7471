#include "node_lease.hpp"

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "durable/errc.hpp"
#include "durable/etcd_client.hpp"
#include "router.hpp"

namespace durable::cluster {

namespace {

using tick_atom = caf::atom_constant<caf::atom("dc_tick")>;

/// One attempt: a fresh lease, and the key created with it unless it exists.
/// Returns the lease if this incarnation holds the key now, 0 if another
/// does (its value in `holder`).
caf::expected<int64_t> try_claim(const lease_config& cfg, std::string& holder) {
  auto granted = cfg.etcd->grant(cfg.ttl);
  if (!granted)
    return std::move(granted.error());
  auto got = cfg.etcd->claim(cfg.key, cfg.incarnation, granted->id);
  if (got && got->owner == cfg.incarnation)
    return granted->id;
  // Lost, or failed: the unused lease must not keep anything alive.
  cfg.etcd->revoke(granted->id);
  if (!got)
    return std::move(got.error());
  holder = got->owner;
  return int64_t{0};
}

struct keeper_state {
  lease_config cfg;
  int64_t lease = 0;
  std::function<void(const std::string&)> lost;
  static inline const char* name = "durable.cluster.lease_keeper";
};

using keeper_actor = caf::stateful_actor<keeper_state>;

caf::behavior keeper(keeper_actor* self, lease_config cfg, int64_t lease,
                     std::function<void(const std::string&)> lost) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.lease = lease;
  st.lost = std::move(lost);
  auto period = std::chrono::duration_cast<caf::timespan>(st.cfg.ttl) / 3;
  self->delayed_send(self, period, tick_atom::value);
  return {
      [=](tick_atom) {
        auto& st = self->state;
        auto renewed = st.cfg.etcd->keep_alive(st.lease);
        if (!renewed && is(renewed.error(), errc::invalid_argument)) {
          // Expired: nobody heard from this process for a whole TTL. Take
          // the key again unless a newer incarnation has it.
          std::string holder;
          auto again = try_claim(st.cfg, holder);
          if (again && *again == 0) {
            st.lost("node key " + st.cfg.key +
                    " is held by another incarnation (" + holder +
                    ") after this one's lease expired");
            self->quit();
            return;
          }
          if (again)
            st.lease = *again;
        }
        // Unreachable etcd: try again next period (the lease may still
        // live; if not, the next tick takes the key again).
        self->delayed_send(self, period, tick_atom::value);
      },
      [=](stop_atom) {
        self->state.cfg.etcd->revoke(self->state.lease);
        self->quit();
      },
  };
}

} // namespace

caf::expected<int64_t> acquire_node_lease(const lease_config& cfg) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + cfg.wait_limit;
  for (;;) {
    std::string holder;
    auto got = try_claim(cfg, holder);
    if (!got)
      return got;
    if (*got != 0)
      return got;
    // Wait for the older incarnation's key to go (its lease expires, or it
    // revokes it when it stops), then try again.
    for (;;) {
      if (clock::now() >= deadline)
        return make_error(errc::unavailable,
                          "node key " + cfg.key +
                              " is still held by another incarnation (" +
                              holder + "): is this node running elsewhere?");
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
      auto now = cfg.etcd->get(cfg.key);
      if (!now)
        return std::move(now.error());
      if (!*now)
        break;
      holder = (*now)->value;
    }
  }
}

caf::actor spawn_lease_keeper(caf::actor_system& sys, lease_config cfg,
                              int64_t lease,
                              std::function<void(const std::string&)> lost) {
  return sys.spawn<caf::detached>(keeper, std::move(cfg), lease,
                                  std::move(lost));
}

} // namespace durable::cluster
