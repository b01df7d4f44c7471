// Serves counter objects over HTTP.
//
//   counter_server [--http.port=8080] [--http.threads=1]
//                  [--http.bindings="[\"counter=counter\"]"]
//                  [--durable.data-dir=D] [...any durable.* / http.* option]
//
//   GET /counter/<name>/inc     increments <name> and answers the new value
//   GET /counter/<name>         answers the value
//   GET /counter/id/<hex>/...   the same, by object ID
//   GET /admin/namespaces       lists the namespaces (?page=&per_page=)
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
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include "../counter/counter.hpp"
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
        "bindings", "path segment=class pairs (classes: counter), "
                    "default [\"counter=counter\"]");
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
  std::fprintf(stderr, "counter_server: %s\n", what.c_str());
  return EXIT_FAILURE;
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
    if (cls != "counter")
      return fail("unknown class in http.bindings: " + cls);
    auto i = counters.find(cls);
    if (i == counters.end()) {
      auto ns = dep.bind<example::counter>(cls);
      if (!ns)
        return fail(durable::message_of(ns.error()));
      i = counters.emplace(cls, std::move(*ns)).first;
    }
    if (auto err = srv.bind(segment, i->second))
      return fail(durable::message_of(err));
  }
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists: all threads inherit
  // the mask, and only main receives them, through sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
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
  auto opts = durable::http::server_options::from_config(cfg);
  if (!opts)
    return fail(durable::message_of(opts.error()));
  auto specs = caf::get_or(cfg, "http.bindings",
                           std::vector<std::string>{"counter=counter"});
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep)
    return fail("cannot open the deployment: " +
                durable::message_of(dep.error()));
  // The server goes before the deployment: it holds stubs of its objects.
  {
    durable::http::server srv{sys, *opts};
    if (auto rc = bind_all(*dep, srv, specs); rc != EXIT_SUCCESS)
      return rc;
    if (auto err = srv.serve_admin(dep->registry()))
      return fail(durable::message_of(err));
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
  dep->shutdown();
  return EXIT_SUCCESS;
}
