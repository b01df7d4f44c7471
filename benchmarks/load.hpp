#pragma once

// Drives durable increments through stubs: `clients` event-based actors, each
// keeping `depth` requests in flight, for a fixed time.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/object.hpp"

namespace bench {

using inc_atom = caf::atom_constant<caf::atom("inc")>;
using counter_api = caf::typed_actor<caf::replies_to<inc_atom>::with<int64_t>>;
using counter_stub = durable::stub<counter_api>;

/// A counter kept in storage: each increment reads and writes "value".
class stored_counter : public durable::object<counter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {[this](inc_atom) {
      auto x = storage().get_value<int64_t>("value");
      auto next = (x && *x ? **x : 0) + 1;
      storage().put_value("value", next);
      return next;
    }};
  }
};

/// A counter kept in memory only: each increment is a turn without writes.
class memory_counter : public durable::object<counter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {[this](inc_atom) { return ++value_; }};
  }

private:
  int64_t value_ = 0;
};

/// The same counter as a plain CAF actor (the baselines).
inline counter_api::behavior_type plain_counter(counter_api::pointer) {
  auto value = std::make_shared<int64_t>(0);
  return {[value](inc_atom) { return ++*value; }};
}

struct load_counters {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<bool> stop{false};
  std::atomic<int> outstanding{0};
};

/// Picks the target of the next request; called from client actors, so it
/// must be thread-safe for distinct `client` values.
using target_picker = std::function<size_t(int client)>;

/// A client actor's loop: keeps `depth` requests in flight, each issued by
/// `send(self, client, seq, done)` (`seq` counts this client's requests),
/// which must call `done(ok)` once on the request's answer.
template <class Send>
void load_client(caf::event_based_actor* self, load_counters* lc, int id,
                 int depth, Send send) {
  auto loop = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = loop;
  auto seq = std::make_shared<uint64_t>(0);
  *loop = [=] {
    auto next = weak.lock();
    if (!next)
      return;
    if (lc->stop.load(std::memory_order_relaxed)) {
      lc->outstanding.fetch_sub(1);
      return;
    }
    send(self, id, (*seq)++, [=](bool ok) {
      (ok ? lc->done : lc->failed).fetch_add(1, std::memory_order_relaxed);
      if (auto f = weak.lock(); f && *f)
        (*f)();
    });
  };
  lc->outstanding.fetch_add(depth);
  for (int i = 0; i < depth; ++i)
    (*loop)();
  // The actor's behavior owns the loop; it ends when the actor quits.
  self->become([loop](caf::atom_value) {});
}

/// Calls `done(ok)` on the answer of the increment request `handle`.
template <class Handle, class Done>
void then_done(Handle&& handle, Done done) {
  std::move(handle).then([=](int64_t) { done(true); },
                         [=](caf::error&) { done(false); });
}

/// Sends `inc` through `target` and calls `done(ok)` on its answer.
template <class Done>
void request_inc(caf::event_based_actor* self, const counter_stub& target,
                 Done done) {
  then_done(target.request(self, caf::infinite, inc_atom::value), done);
}

/// Sends `inc` to the plain actor `target` and calls `done(ok)` on its
/// answer.
template <class Done>
void request_inc(caf::event_based_actor* self, const counter_api& target,
                 Done done) {
  then_done(self->request(target, caf::infinite, inc_atom::value), done);
}

/// Runs the load of `clients` actors issuing requests with `send` (see
/// `load_client`) for `seconds` after a short warm-up; returns answered
/// requests/s. `edge`, if set, runs at the start and at the end of the
/// counted window (e.g. to read CPU clocks).
template <class Send>
double run_load_with(caf::actor_system& sys, int clients, int depth,
                     double seconds, Send send, uint64_t* failures = nullptr,
                     const std::function<void()>& edge = {}) {
  load_counters lc;
  std::vector<caf::actor> actors;
  for (int i = 0; i < clients; ++i)
    actors.push_back(sys.spawn([&, i](caf::event_based_actor* self) {
      load_client(self, &lc, i, depth, send);
    }));
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  if (edge)
    edge();
  auto start_count = lc.done.load();
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto count = lc.done.load() - start_count;
  auto elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (edge)
    edge();
  lc.stop = true;
  while (lc.outstanding.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  if (failures)
    *failures = lc.failed.load();
  return count / elapsed;
}

/// Increments through `stubs`, each request to `stubs[pick(client)]`.
inline double run_load(caf::actor_system& sys,
                       const std::vector<counter_stub>& stubs, int clients,
                       int depth, double seconds, target_picker pick,
                       uint64_t* failures = nullptr) {
  auto send = [&stubs, pick](caf::event_based_actor* self, int client, uint64_t,
                             auto done) {
    request_inc(self, stubs[pick(client)], done);
  };
  return run_load_with(sys, clients, depth, seconds, send, failures);
}

/// A scratch directory for one benchmark run, removed afterwards.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    char tmpl[] = "/tmp/durable-bench-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch_dir() {
    std::string cmd = "rm -rf '" + path + "'";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }
};

} // namespace bench

namespace bench {

/// An actor system with a deployment in a scratch directory.
struct durable_setup {
  scratch_dir dir;
  durable::config cfg;
  caf::actor_system sys;
  durable::deployment dep;

  /// `threads`: CAF worker threads (the storage writer has its own thread).
  explicit durable_setup(int threads = 2)
      : sys(with_threads(cfg, threads)), dep(open(sys, dir.path)) {
    // nop
  }

  static durable::config& with_threads(durable::config& cfg, int threads) {
    cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
    return cfg;
  }

  static durable::deployment open(caf::actor_system& sys,
                                  const std::string& dir) {
    durable::settings s;
    s.data_dir = dir + "/durable";
    // million holds 1 M objects live at once: above the default limit's
    // high-water mark, where LRU eviction would start.
    s.max_live_objects = size_t{1} << 22;
    auto dep = durable::deployment::open(sys, s);
    if (!dep)
      throw std::runtime_error(durable::message_of(dep.error()));
    return std::move(*dep);
  }

  /// The counters of the global environment's commit writer.
  durable::commit_writer::statistics writer_stats() {
    auto w = dep.engine().writer(durable::jurisdiction::none);
    return w ? (*w)->stats() : durable::commit_writer::statistics{};
  }

  /// Write sets per fsync'd transaction since `before` (group commit size).
  double write_sets_per_commit(const durable::commit_writer::statistics& x) {
    auto now = writer_stats();
    auto txns = now.transactions - x.transactions;
    return txns == 0 ? 0.0
                     : static_cast<double>(now.write_sets - x.write_sets) /
                           static_cast<double>(txns);
  }

  template <class T>
  durable::object_namespace<typename T::interface_type>
  bind(const std::string& key, durable::namespace_options opts = {}) {
    auto ns = dep.bind<T>(key, opts);
    if (!ns)
      throw std::runtime_error(durable::message_of(ns.error()));
    return std::move(*ns);
  }
};

} // namespace bench
