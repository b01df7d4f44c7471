// activation: cold activations/s and RSS per idle live object.
//
// Ours: one request through a stub to each of N fresh object IDs; the
// namespace actor spawns the object, whose handler reads one storage key (a
// fresh object: the key is absent, so the read goes to LMDB). Baseline: the
// same clients spawn a plain typed CAF actor per index and send it the same
// request. Both keep the same number of requests in flight. The rate is N
// over the time until the last reply; the memory figure is the growth of
// VmRSS (from /proc/self/status) while the N objects or actors were created,
// divided by N, with every object still live (idle timeout of one hour).
//
// Every measurement runs in a forked child so that each starts from a fresh
// heap: RSS growth is not hidden by memory freed by an earlier run.
//
// Writes bench-results/activation.json (activations/s) and
// bench-results/activation_rss.json (bytes per idle live object).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "bench.hpp"
#include "drive.hpp"
#include "load.hpp"
#include "proc.hpp"

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;
using reader_api = caf::typed_actor<caf::replies_to<get_atom>::with<int64_t>>;
using reader_stub = durable::stub<reader_api>;

/// The durable object: its first (and only) request reads one key.
class reader : public durable::object<reader_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {[this](get_atom) -> int64_t {
      auto x = storage().get_value<int64_t>("value");
      return x && *x ? **x : 0;
    }};
  }
};

/// The baseline: a plain typed CAF actor answering the same request.
reader_api::behavior_type plain_reader() {
  return {[](get_atom) { return int64_t{0}; }};
}

using clock_type = std::chrono::steady_clock;
using bench::drive_state;

/// What one measurement in a child reports.
enum result_index {
  r_rate,
  r_bytes_per_object,
  r_anon_bytes_per_object,
  r_failed,
  r_live,
  r_count
};

/// Runs the clients against `send` and fills in the rate and memory growth.
/// Returns the figures in `result_index` order (`r_live` left for the
/// caller).
template <class Send>
std::vector<double> drive(caf::actor_system& sys, size_t n, int clients,
                          int depth, bench::progress& prog,
                          const std::string& what, Send send) {
  drive_state st;
  st.total = n;
  // Let the system settle (worker threads, namespace actor) before the
  // first RSS reading.
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto rss0 = bench::rss_bytes();
  auto anon0 = bench::proc_status_bytes("RssAnon");
  auto start = clock_type::now();
  std::vector<caf::actor> drivers;
  for (int i = 0; i < clients; ++i)
    drivers.push_back(sys.spawn(bench::driver<Send>, &st, depth, send));
  while (st.done.load() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
    prog.tick(what + ": " + std::to_string(st.done.load()) + "/" +
              std::to_string(n));
  }
  auto end = st.finish_time();
  auto seconds = std::chrono::duration<double>(end - start).count();
  // Let the last replies and their messages be released.
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  auto rss1 = bench::rss_bytes();
  auto anon1 = bench::proc_status_bytes("RssAnon");
  std::vector<double> result(r_count, 0);
  result[r_rate] = static_cast<double>(n) / seconds;
  result[r_bytes_per_object] = (rss1 - rss0) / static_cast<double>(n);
  result[r_anon_bytes_per_object] = (anon1 - anon0) / static_cast<double>(n);
  result[r_failed] = static_cast<double>(st.failed.load());
  return result;
}

std::vector<double> measure_ours(size_t n, int clients, int depth, int run,
                                 bench::progress& prog) {
  // Leaked on purpose, like everything below: the child leaves with _exit
  // (tearing down N live objects is not part of the measurement).
  auto& env = *new bench::durable_setup;
  durable::namespace_options opts;
  opts.idle_timeout = std::chrono::hours{1}; // every object stays live
  auto ns = env.bind<reader>("activation", opts);
  // IDs and stubs first: deriving an ID (HMAC) is not part of an activation.
  auto& stubs = *new std::vector<reader_stub>;
  stubs.reserve(n);
  auto prefix = "r" + std::to_string(run) + "-";
  for (size_t i = 0; i < n; ++i)
    stubs.push_back(ns.get_by_name(prefix + std::to_string(i)));
  auto* targets = &stubs;
  auto send = [targets](caf::event_based_actor* self, size_t i, auto done) {
    (*targets)[i]
        .request(self, caf::infinite, get_atom::value)
        .then([done](int64_t) { done(true); },
              [done](caf::error&) { done(false); });
  };
  auto result = drive(env.sys, n, clients, depth, prog, "objects", send);
  result[r_live] = static_cast<double>(ns.live_objects());
  bench::remove_tree(env.dir.path); // the child leaves without teardown
  return result;
}

std::vector<double> measure_plain(size_t n, int clients, int depth,
                                  bench::progress& prog) {
  auto& cfg = *new durable::config;
  cfg.set("scheduler.max-threads", 2);
  auto& sys = *new caf::actor_system{cfg}; // leaked: see measure_ours
  // The handles keep the actors alive, as the namespace's map keeps objects.
  auto& handles = *new std::vector<reader_api>(n);
  auto* keep = &handles;
  auto send = [keep](caf::event_based_actor* self, size_t i, auto done) {
    auto hdl = self->spawn(plain_reader);
    (*keep)[i] = hdl;
    self->request(hdl, caf::infinite, get_atom::value)
        .then([done](int64_t) { done(true); },
              [done](caf::error&) { done(false); });
  };
  auto result = drive(sys, n, clients, depth, prog, "plain actors", send);
  size_t live = 0;
  for (auto& h : handles)
    live += h ? 1 : 0;
  result[r_live] = static_cast<double>(live);
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  auto n =
      static_cast<size_t>(opts.get("objects", opts.quick ? 20000 : 100000));
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 64));
  bench::progress prog{"activation"};
  std::vector<double> rate, plain_rate, bytes, plain_bytes, anon, plain_anon;
  for (int run = 0; run < opts.runs; ++run) {
    auto ours = [&] {
      auto r = bench::in_child(
          [&] { return measure_ours(n, clients, depth, run, prog); });
      if (r[r_failed] > 0 || r[r_live] != static_cast<double>(n))
        std::fprintf(stderr, "\nobjects: %.0f failed requests, %.0f live\n",
                     r[r_failed], r[r_live]);
      rate.push_back(r[r_rate]);
      bytes.push_back(r[r_bytes_per_object]);
      anon.push_back(r[r_anon_bytes_per_object]);
    };
    auto plain = [&] {
      auto r = bench::in_child(
          [&] { return measure_plain(n, clients, depth, prog); });
      if (r[r_failed] > 0)
        std::fprintf(stderr, "\nplain actors: %.0f failed requests\n",
                     r[r_failed]);
      plain_rate.push_back(r[r_rate]);
      plain_bytes.push_back(r[r_bytes_per_object]);
      plain_anon.push_back(r[r_anon_bytes_per_object]);
    };
    // Alternate the order so drift on a noisy machine hits both sides.
    if (run % 2 == 0) {
      ours();
      plain();
    } else {
      plain();
      ours();
    }
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": objects " +
                bench::fixed(rate.back()) + "/s, " +
                bench::fixed(bytes.back()) + " B each | plain CAF " +
                bench::fixed(plain_rate.back()) + "/s, " +
                bench::fixed(plain_bytes.back()) + " B each");
  }
  prog.done();
  std::map<std::string, std::string> params = {
      {"objects_per_run", std::to_string(n)},
      {"clients", std::to_string(clients)},
      {"in_flight", std::to_string(clients * depth)},
      {"handler", "reads one storage key (absent: fresh objects)"},
      {"baseline_actor", "function-based typed actor, same request, spawned "
                         "by the client"},
      {"idle_timeout", "1h (objects stay live)"},
      {"isolation", "each measurement in a fresh forked process"},
      {"memory", "VmRSS growth / objects, all still live"}};
  auto ms = bench::summary::of(bytes);
  auto mb = bench::summary::of(plain_bytes);
  bench::report r;
  r.name = "activation";
  r.unit = "activations/s";
  r.runs = rate;
  r.baseline_name = "raw CAF spawn + one request";
  r.baseline_runs = plain_rate;
  r.params = params;
  r.figures["goal"] = 200000;
  r.figures["bytes_per_object"] = ms.median;
  r.figures["baseline_bytes_per_actor"] = mb.median;
  r.figures["anon_bytes_per_object"] = bench::summary::of(anon).median;
  r.figures["baseline_anon_bytes_per_actor"] =
      bench::summary::of(plain_anon).median;
  bench::write(opts, r);
  bench::report m;
  m.name = "activation_rss";
  m.unit = "bytes per idle live object";
  m.runs = bytes;
  m.baseline_name = "raw CAF plain actor";
  m.baseline_runs = plain_bytes;
  m.params = params;
  m.figures["goal"] = 2048;
  m.figures["anon_bytes_per_object"] = bench::summary::of(anon).median;
  m.figures["baseline_anon_bytes_per_actor"] =
      bench::summary::of(plain_anon).median;
  bench::write(opts, m);
  return 0;
}
