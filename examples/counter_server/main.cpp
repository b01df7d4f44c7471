// Serves counter objects over HTTP.
//
//   counter_server [--http.port=8080] [--http.threads=1]
//                  [--http.bindings="[\"counter=counter\"]"]
//                  [--durable.data-dir=D] [...any durable.* / http.* option]
//
// As one node of a cluster (the catalog gives the HTTP and BASP addresses):
//
//   counter_server --durable.cluster.catalog=cluster.json
//                  --durable.cluster.node=n1
//                  --durable.cluster.tls-certificate=n1.pem
//                  --durable.cluster.tls-key=n1.key
//                  --durable.cluster.tls-ca=ca.pem --durable.data-dir=D
//
//   GET /counter/<name>/inc     increments <name> and answers the new value
//   GET /counter/<name>         answers the value
//   GET /counter/id/<hex>/...   the same, by object ID
//   (a binding "counter-eu=counter@eu" serves the eu sub-namespace)
//   GET /admin/namespaces       lists the namespaces (?page=&per_page=)
//   GET /admin/cluster          the catalog, this node's links and load
//
// Prints "listening on ADDRESS:PORT" once it accepts connections and runs
// until SIGINT or SIGTERM. Stopping answers what is in flight (up to
// http.shutdown-timeout) and is bounded: if it is not done
// http.shutdown-timeout + 10 s after the signal, or on a second signal, the
// process exits at once with status 1 (nothing acknowledged is lost: every
// answer went out after its write was durable).

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include "../counter/counter.hpp"
#include "../serve.hpp"
#include "durable/cluster_node.hpp"
#include "durable/cluster_settings.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/errc.hpp"
#include "durable/http_config.hpp"
#include "durable/http_server.hpp"

namespace {

class server_config : public durable::http::config {
public:
  server_config() {
    opt_group{custom_options_, "http"}.add<std::vector<std::string>>(
        "bindings", "path segment=class[@jurisdiction] pairs (classes: "
                    "counter), default [\"counter=counter\"]");
    durable::cluster::add_options(custom_options_);
  }
};

/// Ends the process if stopping takes longer than `limit` or another stop
/// signal comes: a stuck object or runtime must not keep a stopped server
/// alive. Leaving without cleanup is safe for durability, since answers only
/// leave once their writes are durable.
void start_watchdog(sigset_t signals, caf::timespan limit) {
  std::thread{[signals, limit] {
    using namespace std::chrono;
    auto deadline = steady_clock::now() + limit;
    int sig = -1;
    // sigtimedwait also returns early with EINTR (a handler ran on this
    // thread, as sanitizers' do): wait again for what is left.
    for (auto left = limit; sig <= 0 && left > left.zero();
         left = deadline - steady_clock::now()) {
      auto secs = duration_cast<seconds>(left);
      auto ns = duration_cast<nanoseconds>(left - secs);
      timespec timeout{static_cast<time_t>(secs.count()),
                       static_cast<long>(ns.count())};
      sig = sigtimedwait(&signals, nullptr, &timeout);
    }
    if (sig > 0)
      std::fprintf(stderr, "counter_server: signal %d again, exiting now\n",
                   sig);
    else
      std::fprintf(
          stderr,
          "counter_server: not stopped after %lld s, "
          "exiting now\n",
          static_cast<long long>(duration_cast<seconds>(limit).count()));
    std::_Exit(EXIT_FAILURE);
  }}.detach();
}

/// Lifts the soft descriptor limit to the hard one: the connection cap
/// (`http.max-connections`, by default from the soft limit) then allows as
/// many clients as the system lets this process have.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int fail(const std::string& what) {
  return example::fail("counter_server", what);
}

/// Binds each "segment=class" of `specs`. The class name doubles as the
/// namespace's unique key, so every segment naming a class shares its
/// objects.
int bind_all(durable::deployment& dep, durable::http::server& srv,
             const std::vector<std::string>& specs) {
  std::map<std::string, durable::object_namespace<example::counter_api>>
      counters;
  for (auto& spec : specs) {
    auto eq = spec.find('=');
    auto segment = spec.substr(0, eq);
    auto cls = eq == std::string::npos ? segment : spec.substr(eq + 1);
    // "segment=class@j" serves the jurisdiction j's sub-namespace.
    std::string where;
    if (auto at = cls.find('@'); at != std::string::npos) {
      where = cls.substr(at + 1);
      cls.resize(at);
    }
    if (cls != "counter")
      return fail("unknown class in http.bindings: " + cls);
    auto i = counters.find(cls);
    if (i == counters.end()) {
      auto ns = dep.bind<example::counter>(cls);
      if (!ns)
        return fail(durable::message_of(ns.error()));
      i = counters.emplace(cls, std::move(*ns)).first;
    }
    auto target = i->second;
    if (!where.empty()) {
      auto sub = target.jurisdiction(std::string_view{where});
      if (!sub)
        return fail(durable::message_of(sub.error()));
      target = std::move(*sub);
    }
    if (auto err = srv.bind(segment, std::move(target)))
      return fail(durable::message_of(err));
  }
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists: all threads inherit
  // the mask, and only main receives them, through sigwait.
  auto stop_signals = example::block_stop_signals();
  raise_fd_limit();
  server_config cfg;
  // CAF starts at least four scheduler threads; on a small machine the
  // extra polling workers compete with the I/O thread (~10% fewer
  // requests/s on two cores). One per core, unless told otherwise.
  cfg.set("scheduler.max-threads",
          std::max(std::thread::hardware_concurrency(), 1u));
  if (auto err = cfg.parse(argc, argv))
    return fail("bad options: " + cfg.render(err));
  if (cfg.cli_helptext_printed)
    return EXIT_SUCCESS;
  std::optional<durable::cluster::cluster_settings> cluster;
  if (durable::cluster::enabled(cfg)) {
    auto x = durable::cluster::prepare(cfg);
    if (!x)
      return fail("bad cluster settings: " + durable::message_of(x.error()));
    cluster = std::move(*x);
  }
  auto opts = durable::http::server_options::from_config(cfg);
  if (!opts)
    return fail(durable::message_of(opts.error()));
  if (cluster) {
    // The catalog says where every node serves HTTP.
    opts->address = cluster->self_entry().http.host;
    opts->port = cluster->self_entry().http.port;
  }
  auto specs = caf::get_or(cfg, "http.bindings",
                           std::vector<std::string>{"counter=counter"});
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep)
    return fail("cannot open the deployment: " +
                durable::message_of(dep.error()));
  std::shared_ptr<durable::cluster::node> node;
  if (cluster) {
    auto x = durable::cluster::node::attach(sys, *dep, *cluster);
    if (!x)
      return fail("cannot join the cluster: " + durable::message_of(x.error()));
    node = std::move(*x);
  }
  // The server goes before the deployment: it holds stubs of its objects.
  {
    durable::http::server srv{sys, *opts};
    if (auto rc = bind_all(*dep, srv, specs); rc != EXIT_SUCCESS)
      return rc;
    if (auto err = srv.serve_admin(dep->registry()))
      return fail(durable::message_of(err));
    if (auto err = srv.serve_metrics(*dep))
      return fail(durable::message_of(err));
    if (node) {
      if (auto err = node->start())
        return fail(durable::message_of(err));
      auto* d = &*dep;
      auto* n = node.get();
      auto view = [d, n] {
        return durable::make_response(200, "application/json",
                                      n->status_json(d->node_load()));
      };
      if (auto err = srv.serve_admin_view("cluster", view))
        return fail(durable::message_of(err));
      std::printf("cluster node %s (#%u): BASP/TLS on %s:%u\n",
                  cluster->self_entry().name.c_str(),
                  static_cast<unsigned>(cluster->self),
                  cluster->self_entry().basp.host.c_str(),
                  static_cast<unsigned>(node->port()));
    }
    if (auto err = srv.start())
      return fail(durable::message_of(err));
    std::printf("listening on %s:%u\n", opts->address.c_str(),
                static_cast<unsigned>(srv.port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "counter_server: signal %d, stopping\n", sig);
    start_watchdog(stop_signals,
                   opts->shutdown_timeout + std::chrono::seconds{10});
    srv.stop();
  }
  if (node)
    node->stop();
  dep->shutdown();
  return EXIT_SUCCESS;
}
