// cluster_request: requests between two cluster nodes (two processes of
// this program on 127.0.0.1, BASP over mutual TLS, same deployment secret).
// The parent is node A (weur); it runs itself again as node B (enam) with
// `--role b --dir D`. Four reports, each beside a baseline of the same run:
//
// - cluster_request: requests/s from A through stubs to in-memory counters
//   that B owns (A's stub -> A's router -> B's router -> object, and back),
//   vs raw CAF typed request/then from A to plain counters living in B's
//   process over the same BASP connection (their handles come from an
//   object on B: a caf::actor crosses BASP and becomes a proxy on A).
// - cluster_local_overhead: requests/s through stubs to objects A owns, in
//   the clustered deployment vs a deployment without a cluster in the same
//   actor system.
// - cluster_hot_object: fsync'd increments of one stored counter on B from
//   A vs one stored counter on A.
// - cluster_first_access: latency of the first request to fresh named
//   objects owned by B and fresh unique IDs placed on B, one at a time,
//   beside the round trip of a raw request to a plain actor on B.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench.hpp"
#include "cluster_bench.hpp"
#include "cluster_load.hpp"
#include "drive.hpp"
#include "load.hpp"
#include "proc.hpp"

namespace {

using namespace bench::cluster;

constexpr uint16_t node_a = 1;
constexpr uint16_t node_b = 2;

/// Node B: serves until the parent closes our stdin (or dies).
int run_b(const std::string& dir) {
  node_runtime b{dir, "b"};
  namespaces ns{b};
  b.start(); // A has the lower number: it dials.
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof(buf)) > 0)
    continue;
  release_plain();
  return 0;
}

/// Stubs to `n` objects of `ns` named `<prefix><k>` that node `owner` owns,
/// each activated by one increment.
std::vector<bench::counter_stub>
owned_by(const durable::object_namespace<bench::counter_api>& ns,
         const durable::cluster::placement& places, uint16_t owner,
         const std::string& prefix, size_t n) {
  std::vector<bench::counter_stub> result;
  for (size_t k = 0; result.size() < n; ++k) {
    auto name = prefix + std::to_string(k);
    if (places.owner(ns.id_from_name(name)) != owner)
      continue;
    result.push_back(ns.get_by_name(name));
    value_of(
        result.back().call(std::chrono::seconds{10}, bench::inc_atom::value),
        "activating " + name);
  }
  return result;
}

struct setup {
  int clients;
  int depth;
  int hot_depth;
  size_t objects;
  size_t samples;
};

void first_access(const bench::options& opts, const setup& su, node_runtime& a,
                  namespaces& ns,
                  const std::vector<bench::counter_api>& plain) {
  bench::report r;
  r.name = "cluster_first_access";
  r.unit = "us (p99)";
  r.baseline_name = "raw CAF request to a plain actor on B (p99)";
  latency_series series;
  auto& places = a.node->places();
  auto record = [&](const std::string& what, std::vector<double> lat) {
    series.record(what, lat);
  };
  // As many raw round trips as first accesses, round-robin over the
  // plain counters.
  std::vector<bench::counter_api> raw_targets;
  for (size_t i = 0; i < su.samples; ++i)
    raw_targets.push_back(plain[i % plain.size()]);
  bench::progress prog{r.name};
  for (int run = 0; run < opts.runs; ++run) {
    // Fresh objects of this run: named ones B owns, unique ones placed on
    // B by the hint (B is in enam, A in weur).
    std::vector<bench::counter_stub> named, unique;
    for (size_t k = 0; named.size() < su.samples; ++k) {
      auto id = ns.memory.id_from_name("first-" + std::to_string(run) + "-" +
                                       std::to_string(k));
      if (places.owner(id) == node_b)
        named.push_back(value_of(ns.memory.get(id), "get"));
    }
    while (unique.size() < su.samples) {
      auto id = value_of(ns.memory.new_unique_id(durable::location_hint::enam),
                         "new_unique_id");
      if (places.owner(id) != node_b)
        throw std::runtime_error("a unique ID hinted enam is not on B");
      unique.push_back(value_of(ns.memory.get(id), "get"));
    }
    auto raw = [&] { record("raw", one_at_a_time(a.sys, raw_targets)); };
    if (run % 2 == 1)
      raw();
    record("named", one_at_a_time(a.sys, named));
    record("unique", one_at_a_time(a.sys, unique));
    // The same named objects again, now live: routing without activation.
    record("warm", one_at_a_time(a.sys, named));
    if (run % 2 == 0)
      raw();
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": first access p50/p99 " +
                series.last({"named", "unique", "warm", "raw"}));
  }
  prog.done();
  series.fill(r, "named", "raw");
  r.params = {{"samples_per_run", std::to_string(su.samples)},
              {"objects", "in-memory counters, fresh each run"},
              {"placement", "A in weur, B in enam; unique IDs hinted enam"},
              {"warm", "a second request to the named objects, now live"},
              {"median_is", "p99 of named first accesses in us; all "
                            "percentiles in figures (medians over runs)"}};
  bench::write(opts, r);
}

int run_a(bench::options opts) {
  if (opts.quick)
    opts.runs = std::min(opts.runs, 3);
  setup su{static_cast<int>(opts.get("clients", 4)),
           static_cast<int>(opts.get("depth", 16)),
           static_cast<int>(opts.get("hot-depth", 64)),
           static_cast<size_t>(opts.get("objects", 64)),
           static_cast<size_t>(opts.get("samples", opts.quick ? 200 : 1000))};
  bench::scratch_dir dir;
  bench::progress prog{"cluster"};
  prog.update("making certificates and the catalog in " + dir.path);
  make_pki(dir.path + "/pki", {"a", "b"});
  write_catalog(dir.path + "/catalog.json",
                {{"a", node_a, "weur"}, {"b", node_b, "enam"}});
  ::setenv(durable::secret_env_var, random_secret_hex().c_str(), 1);
  child_node b{{"--role", "b", "--dir", dir.path}};
  if (!b.wait_ready(std::chrono::seconds{60}))
    throw std::runtime_error("node B did not start");
  node_runtime a{dir.path, "a"};
  namespaces ns{a};
  a.start();
  a.wait_links(std::chrono::seconds{30});
  prog.update("nodes up; activating objects");
  auto& places = a.node->places();
  auto remote = owned_by(ns.memory, places, node_b, "c", su.objects);
  auto local = owned_by(ns.memory, places, node_a, "c", su.objects);
  // Plain counters in B's process, reached over the same BASP link, from
  // a directory object on B.
  auto dir_stub = ns.directory.get_by_name("dir");
  for (size_t k = 0; places.owner(dir_stub.id()) != node_b; ++k)
    dir_stub = ns.directory.get_by_name("dir" + std::to_string(k));
  auto n = static_cast<uint32_t>(su.objects);
  std::vector<bench::counter_api> plain;
  for (auto& x :
       value_of(dir_stub.call(std::chrono::seconds{10}, plain_atom::value, n),
                "plain counters from B")) {
    if (x.node() == a.sys.node())
      throw std::runtime_error("a plain counter lives on A");
    plain.push_back(caf::actor_cast<bench::counter_api>(x));
  }
  // The relay floor: A's half here, B's half (with its counters) from B.
  auto relay_b_hdl =
      value_of(dir_stub.call(std::chrono::seconds{10}, relay_atom::value, n),
               "relay from B");
  // The actor system waits for A's relay: end it however we leave.
  exit_guard relay_a_hdl{a.sys.spawn(relay_a, relay_b_hdl)};
  std::vector<bench::counter_api> relay{
      caf::actor_cast<bench::counter_api>(relay_a_hdl.hdl)};
  // A deployment without a cluster in the same actor system.
  durable::settings solo_cfg;
  solo_cfg.data_dir = dir.path + "/a-solo";
  solo_cfg.secret_hex = std::getenv(durable::secret_env_var);
  auto solo = value_of(durable::deployment::open(a.sys, solo_cfg), "solo");
  auto solo_ns = value_of(solo.bind<bench::memory_counter>("bench-solo"),
                          "bind bench-solo");
  std::vector<bench::counter_stub> solo_stubs;
  for (size_t k = 0; k < su.objects; ++k) {
    solo_stubs.push_back(solo_ns.get_by_name("c" + std::to_string(k)));
    value_of(solo_stubs.back().call(std::chrono::seconds{10},
                                    bench::inc_atom::value),
             "activating a solo object");
  }
  prog.done();
  auto rate = [&](const auto& targets, int depth) {
    return [&, depth] {
      return throughput(a.sys, b.pid(), su.clients, depth, targets,
                        opts.seconds);
    };
  };
  // Measures `variants` (ours, the baseline, extras) into report `name`.
  auto measure = [&](const std::string& name, const std::string& unit,
                     int depth, size_t objects, std::vector<variant> variants,
                     std::map<std::string, std::string> params) {
    bench::report r;
    r.name = name;
    r.unit = unit + "/s";
    r.baseline_name = params["baseline"];
    params.erase("baseline");
    r.params = {{"clients", std::to_string(su.clients)},
                {"depth_per_client", std::to_string(depth)},
                {"objects", std::to_string(objects)},
                {"seconds_per_run", bench::fixed(opts.seconds, 1)},
                {"caf_threads_per_node", "2"},
                {"transport", "BASP over TLS (caf_openssl), 127.0.0.1"}};
    r.params.insert(params.begin(), params.end());
    alternate(opts, r, unit + "/s", std::move(variants));
    bench::write(opts, r);
  };
  measure("cluster_request", "requests", su.depth, su.objects,
          {{"stubs", rate(remote, su.depth)},
           {"baseline", rate(plain, su.depth)},
           {"relay_floor", rate(relay, su.depth)}},
          {{"baseline", "raw CAF typed request/then A->B"},
           {"goal", "ratio >= 0.7"},
           {"relay_floor",
            "plain CAF actors on the cluster's path: a relay actor on A "
            "keeps promises by number, a relay on B requests its plain "
            "counter and sends the value back"}});
  measure("cluster_local_overhead", "requests", su.depth, su.objects,
          {{"clustered", rate(local, su.depth)},
           {"baseline", rate(solo_stubs, su.depth)}},
          {{"baseline", "stubs, deployment without a cluster"},
           {"goal", "ratio >= 0.95"}});
  auto hot_b = owned_by(ns.stored, places, node_b, "hot", 1);
  auto hot_a = owned_by(ns.stored, places, node_a, "hot", 1);
  measure("cluster_hot_object", "increments", su.hot_depth, 1,
          {{"on B", rate(hot_b, su.hot_depth)},
           {"baseline", rate(hot_a, su.hot_depth)}},
          {{"baseline", "one stored counter local to A"},
           {"increment", "read + write + fsync'd group commit on the owner"}});
  first_access(opts, su, a, ns, plain);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  return two_node_main(
      argc, argv, "cluster_request", run_a,
      [](bench::options& opts) { return run_b(opts.extra["dir"]); });
}
