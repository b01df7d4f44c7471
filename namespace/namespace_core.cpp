#include "durable/namespace_core.hpp"

#include <mutex>
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

void respond(const caf::strong_actor_ptr& sender, caf::message_id mid,
             caf::error err, caf::execution_unit* ctx) {
  if (sender && mid.is_request())
    sender->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                              std::move(err)),
                    ctx);
}

caf::behavior namespace_actor(caf::event_based_actor* self,
                              std::shared_ptr<namespace_core> core) {
  self->delayed_send(self, core->sweep_interval(), sweep_atom::value);
  return {
      [self, core](route_atom, const object_id& id, uint8_t hint,
                   caf::message& msg) -> caf::result<caf::message> {
        return core->deliver(self, id, static_cast<location_hint>(hint), msg);
      },
      [core](evicted_atom, const object_id& id, uintptr_t rt) {
        core->forget(id, reinterpret_cast<const object_runtime*>(rt));
      },
      [self, core](sweep_atom) {
        core->sweep(self);
        self->delayed_send(self, core->sweep_interval(), sweep_atom::value);
      },
  };
}

} // namespace

// -- constructors, destructors, and assignment operators ----------------------

namespace_core::namespace_core(caf::actor_system& sys, std::string key,
                               id_factory ids, node_description node,
                               namespace_options opts,
                               std::shared_ptr<storage_engine> engine,
                               spawn_function spawn)
    : sys_(sys),
      key_(std::move(key)),
      ids_(std::move(ids)),
      node_(node),
      opts_(opts),
      engine_(std::move(engine)),
      spawn_(std::move(spawn)) {
  // nop
}

namespace_core::~namespace_core() {
  // nop
}

void namespace_core::start() {
  auto hdl = sys_.spawn(namespace_actor, shared_from_this());
  actor_ = caf::actor_cast<caf::strong_actor_ptr>(hdl);
}

void namespace_core::shutdown() {
  if (closed_.exchange(true))
    return;
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  for (auto& sh : shards_) {
    std::vector<live_object> doomed;
    {
      std::unique_lock<std::shared_mutex> guard{sh.mtx};
      for (auto& kvp : sh.objects)
        doomed.push_back(std::move(kvp.second.obj));
      sh.objects.clear();
    }
    for (auto& obj : doomed)
      if (obj.actor)
        caf::anon_send_exit(obj.actor, caf::exit_reason::user_shutdown);
  }
}

// -- properties
// ----------------------------------------------------------------

size_t namespace_core::live_objects() const {
  size_t result = 0;
  for (auto& sh : shards_) {
    std::shared_lock<std::shared_mutex> guard{sh.mtx};
    for (auto& kvp : sh.objects)
      if (kvp.second.obj.actor)
        ++result;
  }
  return result;
}

caf::timespan namespace_core::sweep_interval() const noexcept {
  // A quarter of the timeout evicts within 1.25 timeouts of the last message.
  return std::max(opts_.idle_timeout / 4,
                  caf::timespan{std::chrono::milliseconds{1}});
}

// -- routing
// -------------------------------------------------------------------

live_object namespace_core::find_direct(const object_id& id) {
  auto& sh = shard_for(id);
  std::shared_lock<std::shared_mutex> guard{sh.mtx};
  auto i = sh.objects.find(id.bytes());
  if (i == sh.objects.end() || i->second.via_ns > 0)
    return {};
  return i->second.obj;
}

void namespace_core::route(const object_id& id, location_hint hint,
                           caf::strong_actor_ptr sender, caf::message_id mid,
                           caf::message msg, caf::execution_unit* ctx) {
  if (closed_.load(std::memory_order_acquire)) {
    respond(sender, mid,
            make_error(errc::unavailable, "the namespace is shut down"), ctx);
    return;
  }
  if (auto obj = find_direct(id); obj.actor) {
    // An object calling itself is never admitted (see object_runtime).
    auto admitted = sender == obj.actor ? object_runtime::admission::admitted
                                        : obj.runtime->admit(opts_.max_queued);
    switch (admitted) {
    case object_runtime::admission::admitted:
      obj.actor->enqueue(
          caf::make_mailbox_element(std::move(sender), mid, {}, std::move(msg)),
          ctx);
      return;
    case object_runtime::admission::overloaded:
      respond(sender, mid, make_error(errc::overloaded), ctx);
      return;
    case object_runtime::admission::closed:
      break; // Evicted meanwhile: the namespace actor respawns it.
    }
  }
  {
    auto& sh = shard_for(id);
    std::unique_lock<std::shared_mutex> guard{sh.mtx};
    ++sh.objects[id.bytes()].via_ns;
  }
  actor_->enqueue(
      caf::make_mailbox_element(std::move(sender), mid, {}, route_atom::value,
                                id, static_cast<uint8_t>(hint), std::move(msg)),
      ctx);
}

// -- namespace actor side
// ------------------------------------------------------

void namespace_core::slow_path_done(const object_id& id, live_object* fresh) {
  auto& sh = shard_for(id);
  std::unique_lock<std::shared_mutex> guard{sh.mtx};
  auto i = sh.objects.find(id.bytes());
  if (i == sh.objects.end())
    return;
  if (fresh != nullptr && fresh->actor)
    i->second.obj = std::move(*fresh);
  if (i->second.via_ns > 0)
    --i->second.via_ns;
  if (i->second.via_ns == 0 && !i->second.obj.actor)
    sh.objects.erase(i);
}

caf::result<caf::message> namespace_core::deliver(caf::event_based_actor* self,
                                                  const object_id& id,
                                                  location_hint hint,
                                                  caf::message& msg) {
  // Runs the delivery, then publishes a new object and lets direct senders
  // go again, in one step: what this message was queued behind has been
  // forwarded by then, and until then senders queue behind it.
  live_object fresh;
  auto result = deliver_impl(self, id, hint, msg, fresh);
  slow_path_done(id, &fresh);
  return result;
}

caf::result<caf::message>
namespace_core::deliver_impl(caf::event_based_actor* self, const object_id& id,
                             location_hint hint, caf::message& msg,
                             live_object& fresh) {
  if (closed_.load(std::memory_order_acquire))
    return make_error(errc::unavailable, "the namespace is shut down");
  live_object obj;
  {
    auto& sh = shard_for(id);
    std::shared_lock<std::shared_mutex> guard{sh.mtx};
    auto i = sh.objects.find(id.bytes());
    if (i != sh.objects.end())
      obj = i->second.obj;
  }
  if (obj.actor) {
    switch (obj.runtime->admit(opts_.max_queued)) {
    case object_runtime::admission::admitted:
      return self->delegate(caf::actor_cast<caf::actor>(obj.actor),
                            std::move(msg));
    case object_runtime::admission::overloaded:
      return make_error(errc::overloaded);
    case object_runtime::admission::closed:
      break;
    }
  }
  auto spawned = spawn(id, hint);
  if (!spawned)
    return std::move(spawned.error());
  // A fresh object has nothing queued: admission cannot fail.
  spawned->runtime->admit(opts_.max_queued);
  fresh = std::move(*spawned);
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
                                      std::move(*storage)});
  } catch (const std::exception& e) {
    return make_error(errc::object_reset,
                      std::string{"Durable Object constructor failed: "} +
                          e.what());
  }
  return obj;
}

void namespace_core::evicted(const object_id& id, const object_runtime* rt) {
  if (!closed_.load(std::memory_order_acquire))
    caf::anon_send(caf::actor_cast<caf::actor>(actor_), evicted_atom::value, id,
                   reinterpret_cast<uintptr_t>(rt));
}

void namespace_core::forget(const object_id& id, const object_runtime* rt) {
  auto& sh = shard_for(id);
  std::unique_lock<std::shared_mutex> guard{sh.mtx};
  auto i = sh.objects.find(id.bytes());
  if (i == sh.objects.end() || i->second.obj.runtime != rt)
    return;
  if (i->second.via_ns == 0)
    sh.objects.erase(i);
  else
    i->second.obj = live_object{};
  ++evicted_since_trim_;
}

void namespace_core::sweep(caf::event_based_actor* self) {
  // After a wave of evictions, hand the freed memory back to the system:
  // glibc keeps it in its arenas otherwise, and the RSS of a process that
  // once held many objects would stay at its peak.
  if (evicted_since_trim_ >= trim_after_evictions) {
    evicted_since_trim_ = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
  auto now = clock::now();
  for (auto& sh : shards_) {
    std::shared_lock<std::shared_mutex> guard{sh.mtx};
    for (auto& kvp : sh.objects) {
      auto& obj = kvp.second.obj;
      if (obj.actor && obj.runtime->queued() == 0 && !obj.runtime->closed() &&
          obj.runtime->idle_at(now, opts_.idle_timeout))
        self->send(caf::actor_cast<caf::actor>(obj.actor),
                   idle_check_atom::value, opts_.idle_timeout);
    }
  }
}

} // namespace durable
