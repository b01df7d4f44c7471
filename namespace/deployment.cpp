#include "durable/deployment.hpp"

#include <chrono>

#include <caf/send.hpp>

#include "alarm_scheduler.hpp"
#include "deployment_metrics.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "durable/actor_thread.hpp"
#include "durable/errc.hpp"
#include "durable/secret.hpp"
#include "durable/secret_fingerprint.hpp"
#include "durable/shared_registry.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

namespace {

/// Namespaces of this process by key, so that a deserialized stub finds its
/// namespace again.
struct live_namespaces {
  std::mutex mtx;
  std::unordered_map<std::string, std::weak_ptr<namespace_core>> entries;

  static live_namespaces& instance() {
    static live_namespaces registry;
    return registry;
  }
};

} // namespace

namespace detail {

std::shared_ptr<namespace_core> find_namespace(const std::string& key) {
  auto& reg = live_namespaces::instance();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto i = reg.entries.find(key);
  return i != reg.entries.end() ? i->second.lock() : nullptr;
}

void route(const std::shared_ptr<namespace_core>& core, const object_id& id,
           location_hint hint, caf::strong_actor_ptr sender,
           caf::message_id mid, caf::message msg, caf::execution_unit* ctx) {
  if (core) {
    core->route(id, hint, std::move(sender), mid, std::move(msg), ctx);
  } else {
    answer(sender, mid,
           caf::make_message(make_error(errc::unavailable, "empty stub")), ctx);
  }
}

} // namespace detail

/// The namespaces bound to a deployment, shared with its alarm scheduler:
/// the scheduler may still be in a scan when the deployment goes away.
struct bound_namespaces {
  explicit bound_namespaces(std::shared_ptr<storage_engine> engine)
      : engine(std::move(engine)) {
    // nop
  }

  std::shared_ptr<storage_engine> engine;
  std::mutex mtx;
  std::vector<std::shared_ptr<namespace_core>> list;
  /// The names `list`'s namespaces were bound by, in the same order.
  std::vector<std::string> names;

  /// The bound namespace with number `ns` in the environment of `j`.
  std::shared_ptr<namespace_core> resolve(jurisdiction j, uint32_t ns) {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& core : list) {
      auto number = engine->namespace_number(j, core->key());
      if (number && *number == ns)
        return core;
    }
    return nullptr;
  }

  /// Keys of the bound namespaces.
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::string> result;
    for (auto& core : list)
      result.push_back(core->key());
    return result;
  }
};

struct deployment::state {
  caf::actor_system& sys;
  durable::settings cfg;
  deployment_secret secret;
  std::shared_ptr<storage_engine> engine;
  std::unique_ptr<namespace_registry> registry;
  std::shared_ptr<node_limits> limits;
  /// Serializes binding and migrating (the registry).
  std::mutex mtx;
  std::shared_ptr<bound_namespaces> bound;
  caf::actor alarms;
  std::shared_ptr<const remote_routing> remote;
  /// Set by `share_registry` (a cluster): the registry's writes go there.
  std::unique_ptr<shared_registry> shared;
};

// -- constructors, destructors, and assignment operators ----------------------

deployment::deployment(std::unique_ptr<state> ptr) : state_(std::move(ptr)) {
  // nop
}

deployment::deployment(deployment&&) noexcept = default;

deployment& deployment::operator=(deployment&& other) noexcept {
  if (this != &other) {
    shutdown();
    state_ = std::move(other.state_);
  }
  return *this;
}

deployment::~deployment() {
  shutdown();
}

caf::expected<deployment> deployment::open(caf::actor_system& sys) {
  auto cfg = settings::from_config(sys.config());
  if (!cfg)
    return std::move(cfg.error());
  return open(sys, std::move(*cfg));
}

caf::expected<deployment> deployment::open(caf::actor_system& sys,
                                           durable::settings cfg) {
  if (cfg.secret_file.empty())
    cfg.secret_file = cfg.data_dir + "/secret";
  auto secret = cfg.secret_hex.empty()
                    ? deployment_secret::load_or_create(cfg.secret_file)
                    : deployment_secret::from_hex(cfg.secret_hex);
  if (!secret)
    return std::move(secret.error());
  storage_options sopts;
  sopts.data_dir = cfg.data_dir;
  sopts.initial_map_size = cfg.map_size;
  sopts.max_map_size = cfg.max_map_size;
  sopts.check_data_file = cfg.check_data_file;
  auto engine = storage_engine::open(std::move(sopts));
  if (!engine)
    return std::move(engine.error());
  std::shared_ptr<storage_engine> shared_engine = std::move(*engine);
  if (auto err = check_secret_fingerprint(*shared_engine, *secret))
    return err;
  auto registry = std::make_unique<namespace_registry>(shared_engine);
  // A deletion of classes interrupted by a crash completes before anything
  // can bind (and so see) a namespace whose data is half gone.
  if (auto err = registry->finish_deletions())
    return err;
  auto limits =
      std::make_shared<node_limits>(cfg.max_queued_total, cfg.max_live_objects);
  std::unique_ptr<state> ptr{new state{sys,
                                       std::move(cfg),
                                       std::move(*secret),
                                       std::move(shared_engine),
                                       std::move(registry),
                                       std::move(limits),
                                       {},
                                       {},
                                       {},
                                       {}}};
  ptr->bound = std::make_shared<bound_namespaces>(ptr->engine);
  alarm_scheduler_config acfg;
  acfg.engine = ptr->engine;
  acfg.resolve = [bound = ptr->bound](jurisdiction j, uint32_t ns) {
    return bound->resolve(j, ns);
  };
  acfg.now = ptr->cfg.clock ? ptr->cfg.clock : [] {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
        .count();
  };
  acfg.poll_interval = ptr->cfg.alarm_poll_interval;
  ptr->alarms = spawn_alarm_scheduler(sys, std::move(acfg));
  return deployment{std::move(ptr)};
}

// -- namespaces ---------------------------------------------------------------

caf::expected<std::shared_ptr<namespace_core>>
deployment::bind_impl(std::string name, namespace_options opts,
                      namespace_core::spawn_function fn,
                      const std::set<std::string>& interface) {
  if (!state_)
    return make_error(errc::unavailable, "the deployment was moved from");
  if (name.empty())
    return make_error(errc::invalid_argument,
                      "a namespace name must not be empty");
  std::lock_guard<std::mutex> guard{state_->mtx};
  if (state_->remote)
    for (auto& signature : interface)
      if (signature.find("<invalid-type") != std::string::npos)
        return make_error(
            errc::invalid_argument,
            "namespace \"" + name +
                "\" cannot be served in a "
                "cluster: a type of " +
                signature +
                " is not registered with add_message_type (CAF would "
                "drop its messages between nodes)");
  if (opts.script.empty())
    opts.script = state_->cfg.script;
  auto record = state_->shared ? state_->shared->ensure(name, opts.script,
                                                        state_->bound->keys())
                               : state_->registry->ensure(name, opts.script);
  if (!record)
    return std::move(record.error());
  // The record's ID is the unique key; a renamed class keeps it, so binding
  // the old and the new name would give one namespace two actors.
  auto& key = record->id;
  for (auto& bound_key : state_->bound->keys())
    if (bound_key == key)
      return make_error(errc::invalid_argument,
                        "namespace \"" + name + "\" is already bound");
  if (opts.idle_timeout <= caf::timespan{0})
    opts.idle_timeout = state_->cfg.idle_timeout;
  if (opts.max_queued == 0)
    opts.max_queued = state_->cfg.max_queued;
  id_factory ids{state_->secret, key};
  auto core = std::make_shared<namespace_core>(
      state_->sys, key, std::move(ids), state_->cfg.node, opts, state_->engine,
      state_->limits, std::move(fn));
  if (state_->remote)
    core->attach(state_->remote);
  core->start();
  {
    std::lock_guard<std::mutex> bound_guard{state_->bound->mtx};
    state_->bound->list.push_back(core);
    state_->bound->names.push_back(name);
  }
  auto& reg = live_namespaces::instance();
  std::lock_guard<std::mutex> reg_guard{reg.mtx};
  reg.entries[key] = core;
  return core;
}

caf::error deployment::attach(std::shared_ptr<const remote_routing> routing) {
  if (!state_)
    return make_error(errc::unavailable, "the deployment was moved from");
  std::lock_guard<std::mutex> guard{state_->mtx};
  if (!state_->bound->keys().empty())
    return make_error(errc::invalid_argument,
                      "attach remote routing before binding any namespace");
  state_->remote = std::move(routing);
  return caf::none;
}

caf::error deployment::share_registry(std::shared_ptr<registry_log> log) {
  if (!state_)
    return make_error(errc::unavailable, "the deployment was moved from");
  std::lock_guard<std::mutex> guard{state_->mtx};
  if (!state_->bound->keys().empty())
    return make_error(errc::invalid_argument,
                      "share the registry before binding any namespace");
  auto shared =
      std::make_unique<shared_registry>(*state_->registry, std::move(log));
  if (auto err = shared->mirror())
    return err;
  state_->shared = std::move(shared);
  return caf::none;
}

std::vector<std::pair<std::string, std::string>> deployment::bindings() const {
  std::vector<std::pair<std::string, std::string>> result;
  if (!state_)
    return result;
  std::lock_guard<std::mutex> guard{state_->bound->mtx};
  for (size_t i = 0; i < state_->bound->list.size(); ++i)
    result.emplace_back(state_->bound->names[i], state_->bound->list[i]->key());
  return result;
}

deployment_secret::bytes_type
deployment::derive_key(std::string_view purpose) const {
  return state_->secret.derive(purpose);
}

caf::expected<migration_result>
deployment::migrate(std::vector<migration> migrations) {
  if (!state_)
    return make_error(errc::unavailable, "the deployment was moved from");
  for (auto& m : migrations)
    for (auto& def : m.new_classes)
      if (def.script.empty())
        def.script = state_->cfg.script;
  // Holding the lock keeps `bind` from binding a class while it is deleted.
  std::lock_guard<std::mutex> guard{state_->mtx};
  if (state_->shared)
    return state_->shared->apply(migrations, state_->bound->keys());
  return state_->registry->apply(migrations, state_->bound->keys());
}

void deployment::shutdown() {
  if (!state_)
    return;
  if (state_->alarms) {
    caf::anon_send_exit(state_->alarms, caf::exit_reason::user_shutdown);
    state_->alarms = nullptr;
  }
  std::vector<std::shared_ptr<namespace_core>> namespaces;
  {
    std::lock_guard<std::mutex> guard{state_->bound->mtx};
    namespaces.swap(state_->bound->list);
    state_->bound->names.clear();
  }
  for (auto& ns : namespaces)
    ns->shutdown();
  // Objects answer what is queued for them and quit. Waiting for them on an
  // actor thread could wait for the very thread they need.
  if (!on_actor_thread()) {
    auto deadline =
        std::chrono::steady_clock::now() + state_->cfg.shutdown_timeout;
    for (auto& ns : namespaces)
      ns->wait_for_objects(deadline);
  }
  // Whatever the objects submitted before they went away becomes durable.
  if (state_->engine)
    state_->engine->flush();
}

// -- properties ---------------------------------------------------------------

const durable::settings& deployment::settings() const noexcept {
  return state_->cfg;
}

caf::actor_system& deployment::system() const noexcept {
  return state_->sys;
}

const namespace_registry& deployment::registry() const noexcept {
  return *state_->registry;
}

storage_engine& deployment::engine() const noexcept {
  return *state_->engine;
}

std::shared_ptr<storage_engine> deployment::shared_engine() const noexcept {
  return state_->engine;
}

deployment::load deployment::node_load() const noexcept {
  load result;
  if (state_) {
    result.queued = state_->limits->queued.used();
    result.live_objects =
        state_->limits->live_objects.load(std::memory_order_relaxed);
  }
  return result;
}

// -- metrics ------------------------------------------------------------------

std::string deployment::metrics() const {
  metrics_text out;
  write_metrics(out);
  return out.release();
}

void deployment::write_metrics(metrics_text& out) const {
  metrics_sources src;
  if (state_) {
    std::lock_guard<std::mutex> guard{state_->bound->mtx};
    for (size_t i = 0; i < state_->bound->list.size(); ++i)
      src.namespaces.emplace_back(state_->bound->names[i],
                                  state_->bound->list[i]);
    src.limits = state_->limits;
    src.engine = state_->engine;
  }
  write_deployment_metrics(out, src);
}

} // namespace durable
