#include "durable/namespace_core.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>

#include "durable/atoms.hpp"
#include "durable/errc.hpp"

namespace durable {

namespace {

using clock = object_runtime::clock;

/// How often the sweeper checks the node's live objects against its limit.
constexpr auto pressure_interval = std::chrono::milliseconds{100};

void respond(const caf::strong_actor_ptr& sender, caf::message_id mid,
             caf::error err, caf::execution_unit* ctx) {
  answer(sender, mid, caf::make_message(std::move(err)), ctx);
}

caf::error shut_down() {
  return make_error(errc::unavailable, "the namespace is shut down");
}

/// The single authority that spawns: takes the messages of IDs without a
/// live instance (and those queued behind them). Quits on `shutdown_atom`,
/// after answering everything queued before it.
caf::behavior namespace_actor(caf::event_based_actor* self,
                              std::shared_ptr<namespace_core> core) {
  return {
      [self, core](route_atom, const object_id& id, uint8_t hint,
                   const caf::strong_actor_ptr& counted_by,
                   caf::message& msg) -> caf::result<caf::message> {
        return core->deliver(self, id, static_cast<location_hint>(hint),
                             counted_by, msg);
      },
      [self](shutdown_atom) { self->quit(); },
  };
}

/// Evicts idle objects: a separate actor, so that a sweep over many objects
/// never delays the spawning of new ones.
caf::behavior sweeper_actor(caf::event_based_actor* self,
                            std::shared_ptr<namespace_core> core) {
  auto tick =
      std::min(caf::timespan{pressure_interval}, core->sweep_interval());
  auto next_sweep = std::make_shared<clock::time_point>(clock::now());
  self->delayed_send(self, tick, sweep_atom::value);
  return {
      [self, core, tick, next_sweep](sweep_atom) {
        core->relieve_pressure(self);
        if (auto now = clock::now(); now >= *next_sweep) {
          core->sweep(self);
          *next_sweep = now + core->sweep_interval();
        }
        self->delayed_send(self, tick, sweep_atom::value);
      },
      [self, core](sweep_atom, bool) { core->relieve_pressure(self); },
  };
}

} // namespace

// -- constructors, destructors, and assignment operators ----------------------

namespace_core::namespace_core(caf::actor_system& sys, std::string key,
                               id_factory ids, node_description node,
                               namespace_options opts,
                               std::shared_ptr<storage_engine> engine,
                               std::shared_ptr<node_limits> limits,
                               spawn_function spawn)
    : sys_(sys),
      key_(std::move(key)),
      ids_(std::move(ids)),
      node_(node),
      opts_(opts),
      engine_(std::move(engine)),
      limits_(std::move(limits)),
      spawn_(std::move(spawn)) {
  // nop
}

namespace_core::~namespace_core() {
  // nop
}

void namespace_core::start() {
  auto hdl = sys_.spawn(namespace_actor, shared_from_this());
  actor_ = caf::actor_cast<caf::strong_actor_ptr>(hdl);
  sweeper_ = sys_.spawn(sweeper_actor, shared_from_this());
}

void namespace_core::shutdown() {
  if (closed_.exchange(true))
    return;
  // Slow-path senders check `closed_` and enqueue under their shard's lock:
  // once every lock was taken after the flag was set, nothing else reaches
  // the namespace actor's mailbox ahead of its shutdown message.
  std::vector<caf::strong_actor_ptr> live;
  for (auto& sh : shards_) {
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    for (auto& kvp : sh.objects)
      if (kvp.second.obj.actor)
        live.push_back(kvp.second.obj.actor);
  }
  caf::anon_send(caf::actor_cast<caf::actor>(actor_), shutdown_atom::value);
  caf::anon_send_exit(sweeper_, caf::exit_reason::user_shutdown);
  for (auto& obj : live)
    caf::anon_send_exit(obj, caf::exit_reason::user_shutdown);
}

bool namespace_core::wait_for_objects(
    std::chrono::steady_clock::time_point deadline) const {
  while (live_objects() > 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

// -- properties ---------------------------------------------------------------

caf::timespan namespace_core::sweep_interval() const noexcept {
  // A quarter of the timeout evicts within 1.25 timeouts of the last message.
  return std::max(opts_.idle_timeout / 4,
                  caf::timespan{std::chrono::milliseconds{1}});
}

// -- routing ------------------------------------------------------------------

live_object namespace_core::find_direct(const object_id& id) {
  auto& sh = shard_for(id);
  std::shared_lock<std::shared_mutex> guard{sh.mtx};
  auto i = sh.objects.find(id.bytes());
  if (i == sh.objects.end() || i->second.via_ns > 0)
    return {};
  return i->second.obj;
}

object_runtime::admission
namespace_core::admit(const caf::strong_actor_ptr& sender,
                      const live_object& obj) noexcept {
  if (sender == obj.actor)
    return obj.runtime->closed() ? object_runtime::admission::closed
                                 : object_runtime::admission::admitted;
  return obj.runtime->admit(opts_.max_queued);
}

caf::error namespace_core::refusal(object_runtime::admission what) {
  if (what == object_runtime::admission::node_overloaded) {
    metrics_.count_overload(overload_reason::node_queue);
    return make_error(errc::overloaded,
                      "Durable Object is overloaded. Too many requests "
                      "queued on this node.");
  }
  metrics_.count_overload(overload_reason::object_queue);
  return make_error(errc::overloaded);
}

void namespace_core::fail(const caf::strong_actor_ptr& sender,
                          caf::message_id mid, caf::error err,
                          caf::execution_unit* ctx) {
  if (mid.is_request())
    metrics_.count_error(err);
  respond(sender, mid, std::move(err), ctx);
}

caf::expected<object_id> namespace_core::new_unique(jurisdiction j,
                                                    location_hint hint) const {
  uint16_t tag = 0;
  if (remote_) {
    auto placed = remote_->place_unique(j, hint);
    if (!placed)
      return std::move(placed.error());
    tag = *placed;
  }
  return ids_.new_unique(j, tag);
}

void namespace_core::route(const object_id& id, location_hint hint,
                           caf::strong_actor_ptr sender, caf::message_id mid,
                           caf::message msg, caf::execution_unit* ctx) {
  if (remote_ && !closed_.load(std::memory_order_acquire)) {
    if (auto node = remote_->owner(id); node != remote_routing::local) {
      remote_->forward(node, key_, id, hint, std::move(sender), mid,
                       std::move(msg), ctx);
      return;
    }
  }
  route_local(id, hint, std::move(sender), mid, std::move(msg), ctx);
}

void namespace_core::route_local(const object_id& id, location_hint hint,
                                 caf::strong_actor_ptr sender,
                                 caf::message_id mid, caf::message msg,
                                 caf::execution_unit* ctx) {
  using admission = object_runtime::admission;
  metrics_.requests.inc();
  if (closed_.load(std::memory_order_acquire)) {
    fail(sender, mid, shut_down(), ctx);
    return;
  }
  if (auto obj = find_direct(id); obj.actor) {
    switch (auto what = admit(sender, obj)) {
    case admission::admitted:
      obj.actor->enqueue(
          caf::make_mailbox_element(std::move(sender), mid, {}, std::move(msg)),
          ctx);
      return;
    case admission::closed:
      break; // Evicted meanwhile: the namespace actor respawns it.
    default:
      fail(sender, mid, refusal(what), ctx);
      return;
    }
  }
  // The slow path admits too, before anything is queued: against the live
  // instance if there is one, else against the ID's waiting messages and
  // the node's budget.
  auto refused = admission::admitted;
  {
    auto& sh = shard_for(id);
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    if (closed_.load(std::memory_order_acquire)) {
      guard.unlock();
      fail(sender, mid, shut_down(), ctx);
      return;
    }
    auto& e = sh.objects[id.bytes()];
    caf::strong_actor_ptr counted_by;
    if (e.obj.actor) {
      auto what = admit(sender, e.obj);
      if (what == admission::admitted && sender != e.obj.actor)
        counted_by = e.obj.actor;
      else if (what != admission::admitted && what != admission::closed)
        refused = what;
    }
    if (refused == admission::admitted && !counted_by) {
      if (e.waiting >= opts_.max_queued)
        refused = admission::overloaded;
      else if (!limits_->queued.take())
        refused = admission::node_overloaded;
      else
        ++e.waiting;
      if (refused == admission::admitted)
        metrics_.queued.add();
    }
    if (refused == admission::admitted) {
      ++e.via_ns;
      actor_->enqueue(caf::make_mailbox_element(
                          std::move(sender), mid, {}, route_atom::value, id,
                          static_cast<uint8_t>(hint), std::move(counted_by),
                          std::move(msg)),
                      ctx);
      return;
    }
    if (!e.obj.actor && e.via_ns == 0)
      sh.objects.erase(id.bytes());
  }
  fail(sender, mid, refusal(refused), ctx);
}

// -- namespace actor side -----------------------------------------------------

void namespace_core::slow_path_done(const object_id& id, live_object* fresh) {
  caf::strong_actor_ptr late;
  {
    auto& sh = shard_for(id);
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    auto i = sh.objects.find(id.bytes());
    if (i == sh.objects.end())
      return;
    // A new instance that already ended (or broke) is not published: the
    // next message spawns a fresh one.
    if (fresh != nullptr && fresh->actor && !fresh->runtime->closed()) {
      // Spawned while shutdown collected the live objects: it was not
      // among them, so it learns of the shutdown here.
      if (closed_.load(std::memory_order_acquire))
        late = fresh->actor;
      i->second.obj = std::move(*fresh);
    }
    if (i->second.via_ns > 0)
      --i->second.via_ns;
    if (i->second.via_ns == 0 && !i->second.obj.actor)
      sh.objects.erase(i);
  }
  if (late)
    caf::anon_send_exit(late, caf::exit_reason::user_shutdown);
}

caf::result<caf::message> namespace_core::deliver(
    caf::event_based_actor* self, const object_id& id, location_hint hint,
    const caf::strong_actor_ptr& counted_by, caf::message& msg) {
  // Runs the delivery, then publishes a new object and lets direct senders
  // go again, in one step: what this message was queued behind has been
  // forwarded by then, and until then senders queue behind it.
  live_object fresh;
  caf::result<caf::message> result{caf::message{}};
  try {
    result = deliver_impl(self, id, hint, counted_by, msg, fresh);
  } catch (const std::exception& e) {
    result = make_error(errc::unavailable,
                        std::string{"cannot deliver: "} + e.what());
  } catch (...) {
    result = make_error(errc::unavailable, "cannot deliver");
  }
  slow_path_done(id, &fresh);
  // Only requests learn of a refusal: an error sent for an asynchronous
  // message would reach its sender's error handler and terminate it.
  if (result.flag == caf::rt_error) {
    if (!self->current_message_id().is_request())
      return caf::message{};
    metrics_.count_error(result.err);
  }
  return result;
}

caf::result<caf::message>
namespace_core::deliver_impl(caf::event_based_actor* self, const object_id& id,
                             location_hint hint,
                             const caf::strong_actor_ptr& counted_by,
                             caf::message& msg, live_object& fresh) {
  using admission = object_runtime::admission;
  live_object obj;
  {
    auto& sh = shard_for(id);
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    auto i = sh.objects.find(id.bytes());
    if (i != sh.objects.end()) {
      obj = i->second.obj;
      if (!counted_by && i->second.waiting > 0)
        --i->second.waiting;
    }
  }
  // A counted message holds its instance open (it cannot close while the
  // count is above 0, not even when broken or draining): it goes there,
  // where it is answered. If that instance ended abnormally meanwhile, its
  // end gave the admission back and CAF bounces the message.
  if (counted_by)
    return self->delegate(caf::actor_cast<caf::actor>(counted_by),
                          std::move(msg));
  limits_->queued.give();
  metrics_.queued.sub();
  if (closed_.load(std::memory_order_acquire))
    return shut_down();
  auto sender = self->current_sender();
  if (obj.actor) {
    switch (auto what = admit(sender, obj)) {
    case admission::admitted:
      return self->delegate(caf::actor_cast<caf::actor>(obj.actor),
                            std::move(msg));
    case admission::closed:
      break;
    default:
      return refusal(what);
    }
  }
  auto spawned = spawn(id, hint);
  if (!spawned)
    return std::move(spawned.error());
  fresh = std::move(*spawned);
  if (auto what = admit(sender, fresh); what != admission::admitted)
    return refusal(what);
  return self->delegate(caf::actor_cast<caf::actor>(fresh.actor),
                        std::move(msg));
}

caf::expected<live_object> namespace_core::spawn(const object_id& id,
                                                 location_hint hint) {
  auto j = id.jurisdiction();
  if (!node_.may_hold(j)) {
    std::string what = "no placement for jurisdiction \"";
    what += to_string(j);
    what += "\": this node may not hold it";
    return make_error(errc::no_placement, std::move(what));
  }
  if (limits_->live_objects.load(std::memory_order_relaxed) >=
      limits_->max_live_objects) {
    // Make room at once rather than at the sweeper's next tick.
    if (!pressure_asked_.exchange(true, std::memory_order_acq_rel))
      caf::anon_send(sweeper_, sweep_atom::value, true);
    metrics_.count_overload(overload_reason::live_objects);
    return make_error(errc::overloaded,
                      "Durable Object is overloaded. Too many live objects "
                      "on this node.");
  }
  // Assigned once per jurisdiction (a commit the first time ever); only the
  // namespace actor spawns, so the cache needs no lock.
  auto& ns_number = ns_numbers_[static_cast<uint8_t>(j) % ns_numbers_.size()];
  if (ns_number == 0) {
    auto nr = engine_->namespace_number(j, key_);
    if (!nr)
      return std::move(nr.error());
    ns_number = *nr;
  }
  auto storage = engine_->open_object(j, ns_number, id.bytes());
  if (!storage)
    return std::move(storage.error());
  caf::expected<live_object> obj = caf::error{};
  try {
    obj = spawn_(sys_, object_context{id, shared_from_this(), hint, engine_,
                                      std::move(*storage), &limits_->queued,
                                      &metrics_});
  } catch (const std::exception& e) {
    return make_error(errc::object_reset,
                      std::string{"Durable Object constructor failed: "} +
                          e.what());
  }
  if (obj) {
    metrics_.activations.inc();
    live_.fetch_add(1, std::memory_order_acq_rel);
    limits_->live_objects.fetch_add(1, std::memory_order_relaxed);
  }
  return obj;
}

bool namespace_core::routing(const object_id& id) const {
  auto& sh = shard_for(id);
  std::shared_lock<std::shared_mutex> guard{sh.mtx};
  auto i = sh.objects.find(id.bytes());
  return i != sh.objects.end() && i->second.via_ns > 0;
}

void namespace_core::forget(const object_id& id, caf::actor_id instance) {
  caf::strong_actor_ptr gone;
  {
    auto& sh = shard_for(id);
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    auto i = sh.objects.find(id.bytes());
    if (i != sh.objects.end() && i->second.obj.actor &&
        i->second.obj.actor->id() == instance) {
      gone = std::move(i->second.obj.actor);
      if (i->second.via_ns == 0)
        sh.objects.erase(i);
      else
        i->second.obj = live_object{};
    }
  }
  evicted_since_trim_.fetch_add(1, std::memory_order_relaxed);
  limits_->live_objects.fetch_sub(1, std::memory_order_relaxed);
  live_.fetch_sub(1, std::memory_order_acq_rel);
}

// -- sweeper side -------------------------------------------------------------

void namespace_core::sweep(caf::event_based_actor* self) {
  // After a wave of evictions, hand the freed memory back to the system:
  // glibc keeps it in its arenas otherwise, and the RSS of a process that
  // once held many objects would stay at its peak.
  if (evicted_since_trim_.load(std::memory_order_relaxed) >=
      trim_after_evictions) {
    evicted_since_trim_.store(0, std::memory_order_relaxed);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
  auto now = clock::now();
  for (auto& sh : shards_) {
    std::shared_lock<std::shared_mutex> guard{sh.mtx};
    for (auto& kvp : sh.objects) {
      auto& obj = kvp.second.obj;
      // One check per object at a time: an idle object that cannot go yet
      // (work pending) is asked again by a later sweep, not by every one.
      if (obj.actor && obj.runtime->queued() == 0 &&
          obj.runtime->idle_at(now, opts_.idle_timeout) &&
          obj.runtime->begin_idle_check())
        self->send(caf::actor_cast<caf::actor>(obj.actor),
                   idle_check_atom::value, opts_.idle_timeout);
    }
  }
}

void namespace_core::relieve_pressure(caf::event_based_actor* self) {
  pressure_asked_.store(false, std::memory_order_release);
  auto node_live = limits_->live_objects.load(std::memory_order_relaxed);
  auto mine = live_objects();
  if (node_live < limits_->high_water() || mine == 0)
    return;
  // This namespace's share of the excess, oldest first.
  auto excess = node_live - limits_->low_water();
  auto quota = std::max<size_t>(1, excess * mine / node_live);
  std::vector<std::pair<clock::time_point, live_object>> idle;
  for (auto& sh : shards_) {
    std::shared_lock<std::shared_mutex> guard{sh.mtx};
    for (auto& kvp : sh.objects) {
      auto& obj = kvp.second.obj;
      if (obj.actor && obj.runtime->queued() == 0 && !obj.runtime->closed())
        idle.emplace_back(obj.runtime->last_active(), obj);
    }
  }
  quota = std::min(quota, idle.size());
  auto older = [](auto& x, auto& y) { return x.first < y.first; };
  std::nth_element(idle.begin(), idle.begin() + quota, idle.end(), older);
  for (size_t i = 0; i < quota; ++i)
    if (idle[i].second.runtime->begin_idle_check())
      self->send(caf::actor_cast<caf::actor>(idle[i].second.actor),
                 idle_check_atom::value, caf::timespan{0});
}

} // namespace durable
