// cluster_claims: named objects placed by claims in etcd. Starts one etcd
// member (Debian's /usr/bin/etcd, on a scratch directory) and two nodes with
// `durable.cluster.coordinator=etcd`: this process is node A (weur), and it
// runs itself again as node B (enam). Three reports, each beside a baseline
// of the same run:
//
// - cluster_claim_first_access: latency of the first request from A to
//   fresh named objects hinted enam (A claims them for B in etcd, B checks
//   the claim, then activates), vs the first request to fresh unique IDs
//   placed on B (no etcd); one at a time, p50 and p99.
// - cluster_claim_cached: requests/s from A to named objects on B whose
//   claims A has cached, vs unique objects on B.
// - cluster_claim_rate: new named objects claimed per second: first
//   requests to fresh named objects of A (claimed for A) with many in
//   flight, vs first requests to as many fresh unique objects on A.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.hpp"
#include "cluster_bench.hpp"
#include "cluster_load.hpp"
#include "durable/etcd_client.hpp"

namespace {

using namespace bench::cluster;

constexpr uint16_t node_a = 1;
constexpr uint16_t node_b = 2;

/// One etcd member on 127.0.0.1, data in `dir`; killed on destruction (and
/// with this process).
class etcd_member {
public:
  explicit etcd_member(const std::string& dir)
      : client_port_(unused_port()), peer_port_(unused_port()) {
    auto client_url = "http://" + endpoint();
    auto peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args{"/usr/bin/etcd",
                                  "--name=bench",
                                  "--data-dir=" + dir,
                                  "--listen-client-urls=" + client_url,
                                  "--advertise-client-urls=" + client_url,
                                  "--listen-peer-urls=" + peer_url,
                                  "--initial-advertise-peer-urls=" + peer_url,
                                  "--initial-cluster=bench=" + peer_url,
                                  "--log-level=error"};
    std::vector<char*> argv;
    for (auto& x : args)
      argv.push_back(x.data());
    argv.push_back(nullptr);
    auto log = dir + ".log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid_ < 0)
      throw std::runtime_error("cannot fork etcd");
    durable::etcd::client_options opts;
    opts.endpoints = {endpoint()};
    opts.timeout = std::chrono::milliseconds{500};
    auto c = value_of(durable::etcd::client::make(opts), "etcd client");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!c->get("/ready")) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("etcd did not start; see " + log +
                                 " (is etcd-server installed?)");
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
  }

  ~etcd_member() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  std::string endpoint() const {
    return "127.0.0.1:" + std::to_string(client_port_);
  }

private:
  uint16_t client_port_;
  uint16_t peer_port_;
  pid_t pid_ = -1;
};

/// Node B: serves until the parent closes our stdin (or dies).
int run_b(const std::string& dir, const std::string& etcd) {
  node_runtime b{dir, "b", {etcd}};
  namespaces ns{b};
  b.start(); // A has the lower number: it dials.
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof(buf)) > 0)
    continue;
  return 0;
}

/// Stubs to `n` fresh named counters (`<prefix><k>`), hinted `hint`.
std::vector<bench::counter_stub>
fresh_named(const durable::object_namespace<bench::counter_api>& ns,
            const std::string& prefix, size_t n, durable::location_hint hint) {
  std::vector<bench::counter_stub> result;
  for (size_t k = 0; k < n; ++k)
    result.push_back(ns.get_by_name(prefix + std::to_string(k), {hint}));
  return result;
}

/// Stubs to `n` fresh unique counters placed near `hint`, all on `node`.
std::vector<bench::counter_stub>
fresh_unique(const durable::object_namespace<bench::counter_api>& ns,
             const durable::cluster::placement& places, size_t n,
             durable::location_hint hint, uint16_t node) {
  std::vector<bench::counter_stub> result;
  for (size_t k = 0; k < n; ++k) {
    auto id = value_of(ns.new_unique_id(hint), "new_unique_id");
    if (places.owner(id) != node)
      throw std::runtime_error("a unique ID is not on the expected node");
    result.push_back(value_of(ns.get(id), "get"));
  }
  return result;
}

/// First requests to every one of `targets`, `depth` in flight: per second.
double
first_requests_per_second(caf::actor_system& sys,
                          const std::vector<bench::counter_stub>& targets,
                          int depth) {
  bench::drive_state st;
  st.total = targets.size();
  auto send = [&](caf::event_based_actor* self, size_t i, auto done) {
    bench::request_inc(self, targets[i], done);
  };
  auto t0 = clock_type::now();
  auto client = sys.spawn(bench::driver<decltype(send)>, &st, depth, send);
  auto give_up = t0 + std::chrono::minutes{2};
  while (st.done.load() < st.total && clock_type::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  if (st.done.load() < st.total || st.failed.load() > 0)
    throw std::runtime_error(std::to_string(st.failed.load()) +
                             " first requests failed or stalled");
  auto secs = std::chrono::duration<double>(st.finish_time() - t0).count();
  return static_cast<double>(st.total) / secs;
}

struct setup {
  int clients;
  int depth;
  size_t objects;
  size_t samples;
  size_t claims;
  int claim_depth;
};

void first_access(const bench::options& opts, const setup& su, node_runtime& a,
                  namespaces& ns) {
  bench::report r;
  r.name = "cluster_claim_first_access";
  r.unit = "us (p99)";
  r.baseline_name = "first request to a fresh unique ID on B (p99)";
  latency_series series;
  auto record = [&](const std::string& what, std::vector<double> lat) {
    series.record(what, lat);
  };
  bench::progress prog{r.name};
  for (int run = 0; run < opts.runs; ++run) {
    auto named = fresh_named(ns.memory, "first-" + std::to_string(run) + "-",
                             su.samples, durable::location_hint::enam);
    auto unique = fresh_unique(ns.memory, a.node->places(), su.samples,
                               durable::location_hint::enam, node_b);
    if (run % 2 == 1)
      record("unique", one_at_a_time(a.sys, unique));
    record("named", one_at_a_time(a.sys, named));
    if (run % 2 == 0)
      record("unique", one_at_a_time(a.sys, unique));
    // Where the claims put them: every one on B.
    for (auto& x : named)
      if (a.node->owner(x.id()) != node_b)
        throw std::runtime_error("a named object hinted enam is not on B");
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": first access p50/p99 " +
                series.last({"named", "unique"}));
  }
  prog.done();
  series.fill(r, "named", "unique");
  r.params = {{"samples_per_run", std::to_string(su.samples)},
              {"objects", "in-memory counters, fresh each run"},
              {"placement", "A in weur, B in enam; all hinted enam"},
              {"etcd", "one member on 127.0.0.1 (fsync per commit)"},
              {"goal", "named p50 <= 5000 us, p99 <= 25000 us"},
              {"median_is", "p99 of named first accesses in us; all "
                            "percentiles in figures (medians over runs)"}};
  bench::write(opts, r);
}

void claim_rate(const bench::options& opts, const setup& su, node_runtime& a,
                namespaces& ns) {
  bench::report r;
  r.name = "cluster_claim_rate";
  r.unit = "new objects/s";
  r.baseline_name = "fresh unique objects on A, first requests/s";
  bench::progress prog{r.name};
  for (int run = 0; run < opts.runs; ++run) {
    auto named = fresh_named(ns.memory, "rate-" + std::to_string(run) + "-",
                             su.claims, durable::location_hint::none);
    auto unique = fresh_unique(ns.memory, a.node->places(), su.claims,
                               durable::location_hint::none, node_a);
    double n = 0, u = 0;
    if (run % 2 == 1)
      u = first_requests_per_second(a.sys, unique, su.claim_depth);
    n = first_requests_per_second(a.sys, named, su.claim_depth);
    if (run % 2 == 0)
      u = first_requests_per_second(a.sys, unique, su.claim_depth);
    r.runs.push_back(n);
    r.baseline_runs.push_back(u);
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": named " + bench::fixed(n) +
                " claims/s, unique " + bench::fixed(u) + " activations/s");
  }
  prog.done();
  r.params = {{"objects_per_run", std::to_string(su.claims)},
              {"in_flight", std::to_string(su.claim_depth)},
              {"claim_workers", "16 (default)"},
              {"etcd", "one member on 127.0.0.1 (fsync per commit)"},
              {"goal", ">= 2000 new named objects/s"}};
  bench::write(opts, r);
}

int run_a(bench::options opts) {
  if (opts.quick)
    opts.runs = std::min(opts.runs, 3);
  setup su{static_cast<int>(opts.get("clients", 4)),
           static_cast<int>(opts.get("depth", 16)),
           static_cast<size_t>(opts.get("objects", 64)),
           static_cast<size_t>(opts.get("samples", opts.quick ? 200 : 1000)),
           static_cast<size_t>(opts.get("claims", opts.quick ? 2000 : 10000)),
           static_cast<int>(opts.get("claim-depth", 64))};
  bench::scratch_dir dir;
  bench::progress prog{"cluster"};
  prog.update("starting etcd, certificates and the catalog in " + dir.path);
  etcd_member etcd{dir.path + "/etcd"};
  make_pki(dir.path + "/pki", {"a", "b"});
  write_catalog(dir.path + "/catalog.json",
                {{"a", node_a, "weur"}, {"b", node_b, "enam"}});
  ::setenv(durable::secret_env_var, random_secret_hex().c_str(), 1);
  child_node b{{"--role", "b", "--dir", dir.path, "--etcd", etcd.endpoint()}};
  if (!b.wait_ready(std::chrono::seconds{60}))
    throw std::runtime_error("node B did not start");
  node_runtime a{dir.path, "a", {etcd.endpoint()}};
  namespaces ns{a};
  a.start();
  a.wait_links(std::chrono::seconds{30});
  prog.update("nodes up; activating objects");
  auto& places = a.node->places();
  auto named = fresh_named(ns.memory, "cached-", su.objects,
                           durable::location_hint::enam);
  auto unique = fresh_unique(ns.memory, places, su.objects,
                             durable::location_hint::enam, node_b);
  for (auto* xs : {&named, &unique})
    for (auto& x : *xs)
      value_of(x.call(std::chrono::seconds{10}, bench::inc_atom::value),
               "activating an object on B");
  prog.done();
  auto rate = [&](const auto& targets) {
    return [&] {
      return throughput(a.sys, b.pid(), su.clients, su.depth, targets,
                        opts.seconds);
    };
  };
  bench::report r;
  r.name = "cluster_claim_cached";
  r.unit = "requests/s";
  r.baseline_name = "unique objects on B";
  r.params = {{"clients", std::to_string(su.clients)},
              {"depth_per_client", std::to_string(su.depth)},
              {"objects", std::to_string(su.objects)},
              {"seconds_per_run", bench::fixed(opts.seconds, 1)},
              {"goal", "ratio ~1 (a cached claim costs a cache lookup)"}};
  alternate(opts, r, "requests/s",
            {{"named", rate(named)}, {"baseline", rate(unique)}});
  bench::write(opts, r);
  first_access(opts, su, a, ns);
  claim_rate(opts, su, a, ns);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  return two_node_main(argc, argv, "cluster_claims", run_a,
                       [](bench::options& opts) {
                         return run_b(opts.extra["dir"], opts.extra["etcd"]);
                       });
}
