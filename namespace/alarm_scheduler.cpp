#include "alarm_scheduler.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_handle.hpp>
#include <caf/stateful_actor.hpp>

#include "durable/atoms.hpp"
#include "durable/namespace_core.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

namespace {

using tick_atom = caf::atom_constant<caf::atom("dur_tick")>;

/// One alarm as the scheduler tracks it between scans.
struct tracked_alarm {
  int64_t time = 0;
  uint32_t failures = 0;
  int64_t next_try = 0;
  int64_t attempted_at = 0;
  bool in_flight = false;
  bool seen = false;
};

using alarm_key = std::tuple<jurisdiction, uint32_t, object_bytes>;

struct scheduler_state {
  alarm_scheduler_config cfg;
  std::map<alarm_key, tracked_alarm> alarms;
  std::minstd_rand rng{std::random_device{}()};
  static inline const char* name = "durable_alarm_scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

void deliver(scheduler_actor* self, const alarm_key& key, tracked_alarm& x) {
  auto [j, ns, bytes] = key;
  auto core = self->state.cfg.resolve(j, ns);
  if (!core)
    return; // Not bound on this node (yet): the alarm stays stored.
  x.in_flight = true;
  x.attempted_at = self->state.cfg.now();
  bool drop = x.failures >= alarm_max_attempts;
  auto mid = self->new_request_id(caf::message_priority::normal);
  core->route(object_id{bytes}, location_hint::none, self->ctrl(), mid,
              caf::make_message(alarm_atom::value, x.time, x.failures, drop),
              self->context());
  self->request_response_timeout(caf::duration{std::chrono::seconds{60}}, mid);
  auto time = x.time;
  caf::response_handle<scheduler_actor, caf::message, false>{mid.response_id(),
                                                             self}
      .then(
          [self, key, time](bool) {
            // Done: the object deleted (or replaced) the alarm durably.
            auto i = self->state.alarms.find(key);
            if (i != self->state.alarms.end() && i->second.time == time)
              self->state.alarms.erase(i);
          },
          [self, key, time](caf::error&) {
            auto i = self->state.alarms.find(key);
            if (i == self->state.alarms.end() || i->second.time != time)
              return;
            auto& y = i->second;
            y.in_flight = false;
            ++y.failures;
            auto delay = alarm_backoff_ms(y.failures);
            std::uniform_int_distribution<int64_t> jitter{0, delay / 4};
            // Counted from the attempt, so a slow failure doesn't stretch it.
            y.next_try = y.attempted_at + delay + jitter(self->state.rng);
          });
}

void scan(scheduler_actor* self) {
  auto& st = self->state;
  auto now = st.cfg.now();
  for (auto& kvp : st.alarms)
    kvp.second.seen = kvp.second.in_flight;
  for (auto j : st.cfg.engine->existing_jurisdictions()) {
    auto due = st.cfg.engine->due_alarms(j, now, 1024);
    if (!due)
      continue; // A failing read retries on the next tick.
    for (auto& entry : *due) {
      alarm_key key{j, entry.namespace_number, entry.object};
      auto& x = st.alarms[key];
      if (x.time != entry.time && !x.in_flight)
        x = tracked_alarm{entry.time};
      x.seen = true;
      if (!x.in_flight && now >= x.next_try)
        deliver(self, key, x);
    }
  }
  // Alarms that vanished from the index were deleted or moved elsewhere.
  for (auto i = st.alarms.begin(); i != st.alarms.end();)
    i = i->second.seen ? std::next(i) : st.alarms.erase(i);
}

caf::behavior scheduler(scheduler_actor* self, alarm_scheduler_config cfg) {
  self->state.cfg = std::move(cfg);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        scan(self);
        self->delayed_send(self, self->state.cfg.poll_interval,
                           tick_atom::value);
      },
  };
}

} // namespace

int64_t alarm_backoff_ms(uint32_t retry) {
  auto exponent = std::min<uint32_t>(retry == 0 ? 0 : retry - 1, 6);
  return int64_t{2000} << exponent;
}

caf::actor spawn_alarm_scheduler(caf::actor_system& sys,
                                 alarm_scheduler_config cfg) {
  return sys.spawn(scheduler, std::move(cfg));
}

} // namespace durable
