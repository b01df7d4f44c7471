// stub_request: typed requests/s through stubs to live objects (in-memory
// turn, no writes) beside raw CAF typed request/then to plain actors, with
// the same clients and the same in-flight depth.

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "bench.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/object.hpp"
#include "load.hpp"

namespace {

using inc_atom = caf::atom_constant<caf::atom("inc")>;
using counter_api = caf::typed_actor<caf::replies_to<inc_atom>::with<int64_t>>;

class durable_counter : public durable::object<counter_api> {
public:
  using object::object;
  behavior_type make_behavior() override {
    return {[this](inc_atom) { return ++value_; }};
  }

private:
  int64_t value_ = 0;
};

counter_api::behavior_type plain_counter(counter_api::pointer) {
  auto value = std::make_shared<int64_t>(0);
  return {[value](inc_atom) { return ++*value; }};
}

struct shared_counters {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::atomic<int> outstanding{0};
};

/// Keeps `depth` requests in flight through `send(self, k, then)`.
template <class Send>
void client(caf::event_based_actor* self, shared_counters* sc, int depth,
            size_t targets, Send send) {
  auto next = std::make_shared<size_t>(0);
  auto loop = std::make_shared<std::function<void()>>();
  *loop = [=] {
    if (sc->stop.load(std::memory_order_relaxed)) {
      sc->outstanding.fetch_sub(1);
      return;
    }
    auto k = (*next)++ % targets;
    send(self, k, [=](int64_t) {
      sc->done.fetch_add(1, std::memory_order_relaxed);
      (*loop)();
    });
  };
  sc->outstanding.fetch_add(depth);
  for (int i = 0; i < depth; ++i)
    (*loop)();
}

template <class Send>
double measure(caf::actor_system& sys, int clients, int depth, size_t targets,
               double seconds, Send send) {
  shared_counters sc;
  for (int i = 0; i < clients; ++i)
    sys.spawn([&sc, depth, targets, send](caf::event_based_actor* self) {
      client(self, &sc, depth, targets, send);
    });
  // Warm up, then count over the window.
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  auto start_count = sc.done.load();
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto count = sc.done.load() - start_count;
  auto elapsed = bench::seconds_since(start);
  sc.stop = true;
  while (sc.outstanding.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return count / elapsed;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 16));
  size_t targets = static_cast<size_t>(opts.get("objects", 64));
  durable::config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  // A scratch data directory of its own: the counters here are in memory,
  // and a deployment directory of another program has another secret.
  bench::scratch_dir dir;
  durable::settings s;
  s.data_dir = dir.path + "/durable";
  auto dep = durable::deployment::open(sys, s);
  if (!dep) {
    std::fprintf(stderr, "stub_request: %s\n",
                 durable::message_of(dep.error()).c_str());
    return 1;
  }
  auto ns = dep->bind<durable_counter>("bench-counter");
  if (!ns) {
    std::fprintf(stderr, "stub_request: %s\n",
                 durable::message_of(ns.error()).c_str());
    return 1;
  }
  std::vector<durable::stub<counter_api>> stubs;
  std::vector<counter_api> plain;
  for (size_t i = 0; i < targets; ++i) {
    stubs.push_back(ns->get_by_name("c" + std::to_string(i)));
    stubs.back().call(std::chrono::seconds{5}, inc_atom::value); // spawn it
    plain.push_back(sys.spawn(plain_counter));
  }
  auto ours = [&](caf::event_based_actor* self, size_t k, auto then) {
    stubs[k].request(self, caf::infinite, inc_atom::value).then(then);
  };
  auto raw = [&](caf::event_based_actor* self, size_t k, auto then) {
    self->request(plain[k], caf::infinite, inc_atom::value).then(then);
  };
  bench::report r;
  r.name = "stub_request";
  r.unit = "requests/s";
  r.baseline_name = "raw CAF typed request/then";
  r.params = {{"clients", std::to_string(clients)},
              {"depth_per_client", std::to_string(depth)},
              {"objects", std::to_string(targets)},
              {"seconds_per_run", std::to_string(opts.seconds)}};
  bench::progress prog{r.name};
  for (int run = 0; run < opts.runs; ++run) {
    // Alternate the order so drift on a noisy machine hits both sides.
    auto measure_ours = [&] {
      r.runs.push_back(
          measure(sys, clients, depth, targets, opts.seconds, ours));
    };
    auto measure_raw = [&] {
      r.baseline_runs.push_back(
          measure(sys, clients, depth, targets, opts.seconds, raw));
    };
    if (run % 2 == 0) {
      measure_ours();
      measure_raw();
    } else {
      measure_raw();
      measure_ours();
    }
    prog.update(
        "run " + std::to_string(run + 1) + "/" + std::to_string(opts.runs) +
        ": stubs " + std::to_string(static_cast<long>(r.runs.back())) +
        " req/s, raw CAF " +
        std::to_string(static_cast<long>(r.baseline_runs.back())) + " req/s");
  }
  prog.done();
  bench::write(opts, r);
  for (auto& p : plain)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  return 0;
}
