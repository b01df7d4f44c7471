#pragma once

#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/spawn_options.hpp>

#include "durable/config.hpp"
#include "durable/metrics_text.hpp"
#include "durable/migration.hpp"
#include "durable/namespace_core.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/object_namespace.hpp"
#include "durable/registry_log.hpp"
#include "durable/remote_routing.hpp"
#include "durable/secret.hpp"

namespace durable {

/// caf-durable on one actor system: the settings, the deployment secret and
/// the namespaces bound so far. Owns the namespaces' actors: destroying (or
/// shutting down) the deployment terminates every namespace actor and object,
/// after which stubs answer `errc::unavailable`.
class deployment {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// Opens caf-durable with the `durable.*` settings of `sys`'s config,
  /// creating the data directory and the deployment secret on first start.
  static caf::expected<deployment> open(caf::actor_system& sys);

  /// Opens caf-durable with explicit settings.
  static caf::expected<deployment> open(caf::actor_system& sys, settings cfg);

  deployment(deployment&&) noexcept;

  deployment& operator=(deployment&&) noexcept;

  ~deployment();

  // -- namespaces -------------------------------------------------------------

  /// Binds the object class `T` (derived from `durable::object<I>`) to the
  /// namespace named `name` in the registry. The namespace's recorded ID is
  /// its unique key, which determines every object ID and survives renames
  /// by migration. A name without a record is recorded on the spot with an
  /// ID derived from the name (`namespace_registry::ensure`), so binding
  /// works without migrations and gives the same IDs on every data
  /// directory with the same secret. In a cluster, every type of `I` must be
  /// registered with `add_message_type` (CAF would drop its messages between
  /// nodes without a word): `errc::invalid_argument` naming the signature
  /// otherwise.
  template <class T>
  caf::expected<object_namespace<typename T::interface_type>>
  bind(std::string name, namespace_options opts = {}) {
    static_assert(std::is_base_of<object_runtime, T>::value,
                  "T must derive from durable::object<Interface>");
    auto fn = [](caf::actor_system& sys,
                 object_context ctx) -> caf::expected<live_object> {
      auto hdl = sys.spawn<T, caf::lazy_init>(std::move(ctx));
      auto ptr = static_cast<T*>(caf::actor_cast<caf::abstract_actor*>(hdl));
      return live_object{caf::actor_cast<caf::strong_actor_ptr>(hdl), ptr};
    };
    auto core = bind_impl(
        std::move(name), std::move(opts), std::move(fn),
        system().template message_types<typename T::interface_type>());
    if (!core)
      return std::move(core.error());
    return object_namespace<typename T::interface_type>{std::move(*core)};
  }

  /// Routes the objects that other nodes own through `routing` (a cluster).
  /// Only before the first `bind`: fails with `errc::invalid_argument`
  /// afterwards.
  caf::error attach(std::shared_ptr<const remote_routing> routing);

  /// Shares the namespace registry through `log` (a cluster's etcd): mirrors
  /// the log into this data directory now, and from then on `bind` records
  /// new classes and `migrate` applies migrations cluster-wide, so every
  /// node gives every class the same namespace ID (see `shared_registry`).
  /// Only before the first `bind`: `errc::invalid_argument` afterwards.
  /// Blocks for the log's round trips.
  caf::error share_registry(std::shared_ptr<registry_log> log);

  /// The bound namespaces as (name, unique key) pairs, in binding order.
  std::vector<std::pair<std::string, std::string>> bindings() const;

  /// A key for `purpose` derived from the deployment secret
  /// (HMAC-SHA256(secret, purpose)); nodes with the same secret derive the
  /// same key, and the secret itself never leaves the deployment.
  deployment_secret::bytes_type derive_key(std::string_view purpose) const;

  /// Applies `migrations` to the registry (see `namespace_registry::apply`);
  /// classes bound in this deployment cannot be deleted. New classes
  /// without a script get `durable.script`. With a shared registry, applies
  /// them cluster-wide (`shared_registry::apply`).
  caf::expected<migration_result> migrate(std::vector<migration> migrations);

  /// Terminates all namespaces of this deployment. Idempotent.
  void shutdown();

  // -- properties -------------------------------------------------------------

  const durable::settings& settings() const noexcept;

  caf::actor_system& system() const noexcept;

  /// The namespace registry of the data directory (listing, lookups).
  const namespace_registry& registry() const noexcept;

  /// The storage engine of the data directory (statistics, maintenance).
  storage_engine& engine() const noexcept;

  /// The same engine, shared: for work that may outlive this handle (the
  /// cluster's records of claims).
  std::shared_ptr<storage_engine> shared_engine() const noexcept;

  /// What this node holds now, against `durable.max-queued-total` and
  /// `durable.max-live-objects`.
  struct load {
    uint64_t queued = 0;       ///< Requests admitted, not yet handled.
    uint64_t live_objects = 0; ///< Object instances alive.
  };

  /// The node's current load (all namespaces of this deployment).
  load node_load() const noexcept;

  // -- metrics ----------------------------------------------------------------

  /// This deployment's figures in the Prometheus text exposition format
  /// (0.0.4): per bound namespace (label `namespace`: the bound name) live
  /// objects, activations, evictions, messages, errors by kind, overload
  /// rejections, queued messages and alarms; the node's queue and live
  /// objects against their limits; per open storage environment (label
  /// `jurisdiction`) histograms of write sets per commit, commit and fsync
  /// latency, map size and use. The README's "Metrics" section lists them.
  /// Reads atomics only: cheap, never waits for an actor, any thread.
  std::string metrics() const;

  /// Appends the same families to `out` (to serve them with others).
  void write_metrics(metrics_text& out) const;

private:
  struct state;

  explicit deployment(std::unique_ptr<state> ptr);

  /// `interface` lists the class's message signatures as CAF prints them
  /// (unregistered types show as `<invalid-type...>`).
  caf::expected<std::shared_ptr<namespace_core>>
  bind_impl(std::string name, namespace_options opts,
            namespace_core::spawn_function fn,
            const std::set<std::string>& interface);

  std::unique_ptr<state> state_;
};

} // namespace durable
