#include "alarm_scheduler.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_handle.hpp>
#include <caf/stateful_actor.hpp>

#include "durable/atoms.hpp"
#include "durable/errc.hpp"
#include "durable/namespace_core.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

namespace {

using tick_atom = caf::atom_constant<caf::atom("dur_tick")>;

/// Alarms read from the index per storage read.
constexpr size_t scan_batch = 1024;

/// Index entries one tick examines per environment at most: each tick does
/// bounded work, and the cursor carries on from there on the next one.
constexpr size_t scan_budget = 16 * scan_batch;

/// Deliveries awaiting an answer at most.
constexpr size_t max_in_flight = 1024;

/// Alarms with delivery state (in flight, backing off) at most: bounds the
/// scheduler's memory whatever the index holds. Untracked alarms wait (in
/// the index) while the table is full; tracked ones leave it when they are
/// done, dropped, or gone from the index.
constexpr size_t max_tracked = 65536;

/// One alarm with delivery state. Alarms without any are not tracked.
struct tracked_alarm {
  /// Deliveries whose handler failed: these use up the retries.
  uint32_t failures = 0;
  /// Deliveries the object refused (overloaded, shutting down): these only
  /// delay the alarm.
  uint32_t refusals = 0;
  int64_t next_try = 0;
  int64_t attempted_at = 0;
  bool in_flight = false;
  /// The retry (a value of `failures`) counted in the metrics last.
  uint32_t counted_retry = 0;
  bool seen = false;
};

/// Ordered like the alarm index within one environment (time, namespace,
/// object), so that the range a scan covered is a range of this map too.
using alarm_key = std::tuple<jurisdiction, int64_t, uint32_t, object_bytes>;

alarm_key key_of(jurisdiction j, const alarm_entry& x) {
  return {j, x.time, x.namespace_number, x.object};
}

struct scheduler_state {
  alarm_scheduler_config cfg;
  std::map<alarm_key, tracked_alarm> alarms;
  /// Per environment: the last alarm the previous scan looked at, if it
  /// stopped before the end of the due alarms.
  std::map<jurisdiction, alarm_entry> cursors;
  size_t in_flight = 0;
  std::minstd_rand rng{std::random_device{}()};
  static inline const char* name = "durable_alarm_scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

/// The delay after the n-th refusal (not a retry): short, because the
/// object may take it as soon as its queue drains, but growing so that an
/// object overloaded for long is not pestered.
int64_t refusal_delay_ms(uint32_t n) {
  return int64_t{100} << std::min<uint32_t>(n == 0 ? 0 : n - 1, 5);
}

/// Returns whether `err` means the alarm never reached the handler.
bool refused(const caf::error& err) {
  return is_overloaded(err) || is(err, errc::unavailable);
}

void on_failed(scheduler_actor* self, const alarm_key& key,
               const caf::error& err) {
  auto& st = self->state;
  auto i = st.alarms.find(key);
  if (i == st.alarms.end())
    return;
  auto& y = i->second;
  y.in_flight = false;
  int64_t delay = 0;
  if (refused(err)) {
    delay = refusal_delay_ms(++y.refusals);
  } else {
    delay = alarm_backoff_ms(++y.failures);
    std::uniform_int_distribution<int64_t> jitter{0, delay / 4};
    delay += jitter(st.rng);
  }
  // Counted from the attempt, so a slow failure doesn't stretch it.
  y.next_try = y.attempted_at + delay;
}

void deliver(scheduler_actor* self, const alarm_key& key, tracked_alarm& x) {
  auto& st = self->state;
  auto [j, time, ns, bytes] = key;
  auto core = st.cfg.resolve(j, ns);
  if (!core)
    return; // Not bound on this node (yet): the alarm stays stored.
  x.in_flight = true;
  ++st.in_flight;
  x.attempted_at = st.cfg.now();
  bool drop = x.failures >= alarm_max_attempts;
  auto& figures = core->metrics();
  if (x.failures == 0 && x.refusals == 0)
    figures.alarms_due.inc();
  else if (!drop && x.failures != x.counted_retry)
    figures.alarms_retried.inc();
  // A retry refused by a busy object and tried again is still one retry.
  x.counted_retry = x.failures;
  auto mid = self->new_request_id(caf::message_priority::normal);
  core->route(object_id{bytes}, location_hint::none, self->ctrl(), mid,
              caf::make_message(alarm_atom::value, time, x.failures, drop),
              self->context());
  self->request_response_timeout(caf::duration{std::chrono::seconds{60}}, mid);
  caf::response_handle<scheduler_actor, caf::message, false>{mid.response_id(),
                                                             self}
      .then(
          [self, key, core, drop](bool ran) {
            // Done: the object deleted (or replaced) the alarm durably.
            if (drop)
              core->metrics().alarms_dropped.inc();
            else if (ran)
              core->metrics().alarms_delivered.inc();
            --self->state.in_flight;
            self->state.alarms.erase(key);
          },
          [self, key, core](caf::error& err) {
            if (!refused(err))
              core->metrics().alarms_failed.inc();
            --self->state.in_flight;
            on_failed(self, key, err);
          });
}

/// Forgets tracked alarms of `j` in (lo, hi] (open ends when null) that the
/// scan did not see: they were deleted or moved. Clears `seen` on the rest.
void sweep(scheduler_state& st, jurisdiction j, const alarm_entry* lo,
           const alarm_entry* hi) {
  auto first = lo ? st.alarms.upper_bound(key_of(j, *lo))
                  : st.alarms.lower_bound(alarm_key{j, 0, 0, object_bytes{}});
  for (auto i = first; i != st.alarms.end() && std::get<0>(i->first) == j;) {
    if (hi && key_of(j, *hi) < i->first)
      break;
    if (!i->second.seen && !i->second.in_flight) {
      i = st.alarms.erase(i);
    } else {
      i->second.seen = false;
      ++i;
    }
  }
}

/// Looks at up to `scan_budget` due alarms of `j`, continuing after the
/// last one the previous scan saw: alarms that cannot be delivered never
/// keep the scan from reaching the others.
void scan(scheduler_actor* self, jurisdiction j, int64_t now) {
  auto& st = self->state;
  std::optional<alarm_entry> after;
  if (auto i = st.cursors.find(j); i != st.cursors.end())
    after = i->second;
  for (size_t examined = 0; examined < scan_budget;) {
    if (st.in_flight >= max_in_flight)
      return; // Resume at the cursor once answers come back.
    auto due = st.cfg.engine->due_alarms(j, now, scan_batch, after);
    if (!due)
      return; // A failing read retries on the next tick.
    for (auto& entry : *due) {
      auto key = key_of(j, entry);
      auto i = st.alarms.find(key);
      if (i == st.alarms.end()) {
        if (st.alarms.size() >= max_tracked || st.in_flight >= max_in_flight)
          continue;
        i = st.alarms.emplace(key, tracked_alarm{}).first;
      }
      auto& x = i->second;
      x.seen = true;
      if (!x.in_flight && now >= x.next_try && st.in_flight < max_in_flight)
        deliver(self, key, x);
      // An unbound class leaves nothing to remember.
      if (!x.in_flight && x.failures == 0 && x.refusals == 0)
        st.alarms.erase(i);
    }
    examined += due->size();
    bool at_end = due->size() < scan_batch;
    sweep(st, j, after ? &*after : nullptr, at_end ? nullptr : &due->back());
    if (at_end) {
      st.cursors.erase(j); // Start over from the earliest on the next tick.
      return;
    }
    after = due->back();
    st.cursors[j] = *after;
  }
}

void scan_all(scheduler_actor* self) {
  auto& st = self->state;
  auto now = st.cfg.now();
  for (auto j : st.cfg.engine->existing_jurisdictions())
    scan(self, j, now);
}

caf::behavior scheduler(scheduler_actor* self, alarm_scheduler_config cfg) {
  self->state.cfg = std::move(cfg);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        scan_all(self);
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
