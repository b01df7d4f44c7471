#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/timespan.hpp>

#include "durable/id_factory.hpp"
#include "durable/location_hint.hpp"
#include "durable/node.hpp"
#include "durable/object_id.hpp"
#include "durable/object_metrics.hpp"
#include "durable/object_runtime.hpp"
#include "durable/object_storage.hpp"
#include "durable/queue_budget.hpp"
#include "durable/remote_routing.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

class namespace_core;

/// Per-namespace tuning; unset fields take the deployment's `durable.*`
/// settings.
struct namespace_options {
  caf::timespan idle_timeout{0}; ///< 0: use `durable.idle-timeout`.
  uint32_t max_queued = 0;       ///< 0: use `durable.max-queued`.
  /// The program recorded for a namespace that `bind` registers; empty: use
  /// `durable.script`. Ignored for namespaces already in the registry.
  std::string script;

  namespace_options() = default;

  /// Keeps `{idle_timeout, max_queued}` working without naming every field.
  namespace_options(caf::timespan idle, uint32_t queued = 0,
                    std::string program = {})
      : idle_timeout(idle), max_queued(queued), script(std::move(program)) {
    // nop
  }
};

/// What an object receives at construction.
struct object_context {
  object_id id;
  std::shared_ptr<namespace_core> ns;
  location_hint hint = location_hint::none;
  std::shared_ptr<storage_engine> engine;
  object_storage storage;
  queue_budget* budget = nullptr;
  /// The namespace's figures (owned by `ns`).
  object_metrics* metrics = nullptr;
};

/// The limits one node puts on all its namespaces together: requests queued
/// (admitted, not handled) and live objects. Shared by the namespaces of a
/// deployment.
struct node_limits {
  node_limits(uint64_t max_queued_total, uint64_t max_live)
      : queued(max_queued_total), max_live_objects(max_live) {
    // nop
  }

  queue_budget queued;
  std::atomic<uint64_t> live_objects{0};
  const uint64_t max_live_objects;

  /// Above this many live objects, sweeps evict the least recently used
  /// idle objects down to `low_water`.
  uint64_t high_water() const noexcept {
    return max_live_objects - max_live_objects / 8;
  }

  uint64_t low_water() const noexcept {
    return max_live_objects - max_live_objects / 4;
  }
};

/// A live object as the namespace sees it.
struct live_object {
  caf::strong_actor_ptr actor;
  object_runtime* runtime = nullptr;
};

/// The shared state of one namespace on this node: its ID factory, the map of
/// live objects and the namespace actor, the single authority that spawns.
/// Stubs route through `route`, which reaches live objects directly and hands
/// everything else to the namespace actor. Not for direct use: go through
/// `object_namespace` and `stub`.
class namespace_core : public std::enable_shared_from_this<namespace_core> {
public:
  // -- member types -----------------------------------------------------------

  using spawn_function = std::function<caf::expected<live_object>(
      caf::actor_system&, object_context)>;

  // -- constructors, destructors, and assignment operators --------------------

  namespace_core(caf::actor_system& sys, std::string key, id_factory ids,
                 node_description node, namespace_options opts,
                 std::shared_ptr<storage_engine> engine,
                 std::shared_ptr<node_limits> limits, spawn_function spawn);

  ~namespace_core();

  /// Routes the objects other nodes own through `routing`; call before
  /// `start`.
  void attach(std::shared_ptr<const remote_routing> routing) {
    remote_ = std::move(routing);
  }

  /// Spawns the namespace actor and its sweeper; call once after
  /// construction.
  void start();

  /// Stops taking requests (later ones fail with `errc::unavailable`), lets
  /// the namespace actor answer what waits in its mailbox and asks every
  /// live object to answer its queue with "shutting down" and quit.
  /// Returns at once; `wait_for_objects` waits for them.
  void shutdown();

  /// Waits until every object of this namespace has terminated, or until
  /// `deadline`; returns whether they all did.
  bool wait_for_objects(std::chrono::steady_clock::time_point deadline) const;

  // -- properties -------------------------------------------------------------

  caf::actor_system& system() const noexcept { return sys_; }

  const std::string& key() const noexcept { return key_; }

  const id_factory& ids() const noexcept { return ids_; }

  const namespace_options& options() const noexcept { return opts_; }

  /// A fresh unique ID of jurisdiction `j`, tagged with the node that will
  /// own it (near `hint` in a cluster; 0 on a single node).
  caf::expected<object_id> new_unique(jurisdiction j, location_hint hint) const;

  /// Number of objects currently live on this node.
  size_t live_objects() const noexcept {
    return live_.load(std::memory_order_acquire);
  }

  /// What this namespace's objects did on this node (see `object_metrics`).
  const object_metrics& metrics() const noexcept { return metrics_; }

  /// Ditto, for recording (the alarm scheduler counts deliveries).
  object_metrics& metrics() noexcept { return metrics_; }

  // -- routing (any thread) ---------------------------------------------------

  /// Delivers `msg` from `sender` (request `mid`, or async) to object `id`,
  /// on the node that owns it, spawning it on first use. Errors go back to
  /// `sender` as the response.
  void route(const object_id& id, location_hint hint,
             caf::strong_actor_ptr sender, caf::message_id mid,
             caf::message msg, caf::execution_unit* ctx);

  /// Like `route`, for an object of this node (the cluster's router, which
  /// checked that this node owns `id`).
  void route_local(const object_id& id, location_hint hint,
                   caf::strong_actor_ptr sender, caf::message_id mid,
                   caf::message msg, caf::execution_unit* ctx);

  /// The node that owns `id` as `remote_routing::owner` says
  /// (`remote_routing::local` outside a cluster).
  uint16_t owner(const object_id& id) const noexcept {
    return remote_ ? remote_->owner(id) : remote_routing::local;
  }

  /// Whether this node owns `id` (always, outside a cluster).
  bool owns(const object_id& id) const noexcept {
    return owner(id) == remote_routing::local;
  }

  // -- namespace actor side ---------------------------------------------------

  /// Delivers a message that took the slow path, spawning the object if
  /// needed. `counted_by` is the instance that admitted it already, or null
  /// if it holds a slot of the node's budget while it waits for an
  /// instance. Runs in the namespace actor.
  caf::result<caf::message> deliver(caf::event_based_actor* self,
                                    const object_id& id, location_hint hint,
                                    const caf::strong_actor_ptr& counted_by,
                                    caf::message& msg);

  /// Whether messages for `id` wait in the namespace actor: their instance
  /// is not idle (they may be its own, uncounted, messages to itself).
  bool routing(const object_id& id) const;

  /// Drops the map entry of `id` if it still holds the instance with actor
  /// ID `instance` (never reused, unlike addresses), and counts the instance
  /// gone. Called once per instance, by its cleanup (any thread).
  void forget(const object_id& id, caf::actor_id instance);

  // -- sweeper side -----------------------------------------------------------

  /// Asks every object idle for longer than the timeout, and not asked
  /// already, to evict itself.
  void sweep(caf::event_based_actor* self);

  /// Above the node's high-water mark of live objects, asks this
  /// namespace's least recently used idle objects to evict themselves (its
  /// share of what must go). Costs nothing below the mark.
  void relieve_pressure(caf::event_based_actor* self);

  /// How often the sweeper sweeps.
  caf::timespan sweep_interval() const noexcept;

private:
  /// A map entry: the live object (if any), how many messages for it wait
  /// in the namespace actor's mailbox and, of those, how many wait for an
  /// instance to admit them (bounded by `max_queued`). While any wait,
  /// senders queue behind them, which keeps each sender's messages in order
  /// across the slow path.
  struct entry {
    live_object obj;
    uint32_t via_ns = 0;
    uint32_t waiting = 0;
  };

  /// Keys the map on the 32 ID bytes alone (an object_id also carries its
  /// name, which the map does not need).
  struct id_bytes_hash {
    size_t operator()(const object_id::bytes_type& x) const noexcept {
      // The bytes are HMAC output: any eight of them hash well.
      size_t result;
      std::memcpy(&result, x.data() + 16, sizeof(result));
      return result;
    }
  };

  struct shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<object_id::bytes_type, entry, id_bytes_hash> objects;
  };

  static constexpr size_t shard_count = 64;

  /// Evictions after which a sweep returns freed memory to the system.
  static constexpr size_t trim_after_evictions = 10000;

  shard& shard_for(const object_id& id) noexcept {
    return shards_[id.hash() % shard_count];
  }

  const shard& shard_for(const object_id& id) const noexcept {
    return shards_[id.hash() % shard_count];
  }

  /// The live object of `id`, unless there is none or messages for it wait
  /// in the namespace actor's mailbox.
  live_object find_direct(const object_id& id);

  /// Settles one message that took the slow path, publishing `fresh` (a
  /// just spawned object, if set) in the same step.
  void slow_path_done(const object_id& id, live_object* fresh = nullptr);

  caf::result<caf::message>
  deliver_impl(caf::event_based_actor* self, const object_id& id,
               location_hint hint, const caf::strong_actor_ptr& counted_by,
               caf::message& msg, live_object& fresh);

  /// Admits a message from `sender` to `obj`; an object's messages to itself
  /// are not counted (it cannot be full for itself).
  object_runtime::admission admit(const caf::strong_actor_ptr& sender,
                                  const live_object& obj) noexcept;

  /// The error for a refused admission, counted by its reason.
  caf::error refusal(object_runtime::admission what);

  /// Answers `sender` with `err`, counting it if it is a request.
  void fail(const caf::strong_actor_ptr& sender, caf::message_id mid,
            caf::error err, caf::execution_unit* ctx);

  caf::expected<live_object> spawn(const object_id& id, location_hint hint);

  caf::actor_system& sys_;
  std::string key_;
  id_factory ids_;
  node_description node_;
  namespace_options opts_;
  std::shared_ptr<storage_engine> engine_;
  std::shared_ptr<node_limits> limits_;
  spawn_function spawn_;
  std::shared_ptr<const remote_routing> remote_;
  caf::strong_actor_ptr actor_;
  caf::actor sweeper_;
  std::atomic<bool> closed_{false};
  /// Set while the sweeper was asked to relieve pressure at once.
  std::atomic<bool> pressure_asked_{false};
  /// Instances spawned and not yet terminated.
  std::atomic<size_t> live_{0};
  /// Namespace numbers per jurisdiction (0: not known yet).
  std::array<uint32_t, 8> ns_numbers_{};
  /// Objects forgotten since memory was last trimmed.
  std::atomic<size_t> evicted_since_trim_{0};
  object_metrics metrics_;
  std::array<shard, shard_count> shards_;
};

} // namespace durable
