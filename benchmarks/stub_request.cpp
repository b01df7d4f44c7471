// stub_request: typed requests/s through stubs to live objects (in-memory
// turn, no writes) beside raw CAF typed request/then to plain actors, with
// the same clients and the same in-flight depth.

#include <cstdio>
#include <vector>

#include <caf/all.hpp>

#include "bench.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/object.hpp"
#include "load.hpp"

namespace {

/// Requests/s of `clients` actors with `depth` requests in flight each, every
/// client going round-robin over `targets` (stubs or plain actor handles).
template <class Targets>
double measure(caf::actor_system& sys, int clients, int depth,
               const Targets& targets, double seconds) {
  auto send = [&targets](caf::event_based_actor* self, int, uint64_t seq,
                         auto done) {
    bench::request_inc(self, targets[seq % targets.size()], done);
  };
  return bench::run_load_with(sys, clients, depth, seconds, send);
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
  auto ns = dep->bind<bench::memory_counter>("bench-counter");
  if (!ns) {
    std::fprintf(stderr, "stub_request: %s\n",
                 durable::message_of(ns.error()).c_str());
    return 1;
  }
  std::vector<bench::counter_stub> stubs;
  std::vector<bench::counter_api> plain;
  for (size_t i = 0; i < targets; ++i) {
    stubs.push_back(ns->get_by_name("c" + std::to_string(i)));
    stubs.back().call(std::chrono::seconds{5},
                      bench::inc_atom::value); // spawn it
    plain.push_back(sys.spawn(bench::plain_counter));
  }
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
      r.runs.push_back(measure(sys, clients, depth, stubs, opts.seconds));
    };
    auto measure_raw = [&] {
      r.baseline_runs.push_back(
          measure(sys, clients, depth, plain, opts.seconds));
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
