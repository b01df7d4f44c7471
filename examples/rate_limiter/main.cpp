// A rate limiter: one token bucket per key, reached from a CAF actor through
// stubs and over HTTP.
//
//   rate_limiter [--demo] [--http.port=8080] [--durable.data-dir=D]
//
//   POST /limit/<key>/take[?n=N]   takes N tokens (default 1): 200, or 429
//                                  with Retry-After when the bucket is empty
//   GET  /limit/<key>              what taking one token would give
//
// At start, an event-based actor fires 12 takes at the key "demo" at once
// (10 fit in the bucket) and prints each answer. With --demo the program
// exits after that; otherwise it serves HTTP until SIGINT or SIGTERM,
// printing "listening on ADDRESS:PORT" first.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "../serve.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/http_config.hpp"
#include "durable/http_server.hpp"
#include "rate_limiter.hpp"

namespace {

class limiter_config : public durable::http::config {
public:
  limiter_config() {
    // Interface types are registered, as a cluster requires.
    add_message_type<example::take_result>("example::take_result");
    opt_group{custom_options_, "global"}.add<bool>(
        "demo", "exit after the actor demo instead of serving HTTP");
  }
};

/// Fires `n` takes at `bucket` without waiting for answers, prints each
/// answer as it comes, and ends after the last.
caf::behavior demo(caf::event_based_actor* self,
                   durable::stub<example::limiter_api> bucket, int n) {
  auto left = std::make_shared<int>(n);
  for (int i = 0; i < n; ++i)
    bucket
        .request(self, std::chrono::seconds{10}, example::take_atom::value,
                 uint32_t{1})
        .then(
            [=](const example::take_result& x) {
              if (x.allowed)
                std::printf("take %d: allowed, %u left\n", i, x.remaining);
              else
                std::printf("take %d: refused, retry in %u ms\n", i,
                            x.retry_after_ms);
              if (--*left == 0)
                self->quit();
            },
            [=](caf::error& err) {
              std::printf("take %d: error %s\n", i,
                          durable::message_of(err).c_str());
              if (--*left == 0)
                self->quit();
            });
  return {};
}

int fail(const std::string& what) {
  return example::fail("rate_limiter", what);
}

} // namespace

int main(int argc, char** argv) {
  auto stop_signals = example::block_stop_signals();
  limiter_config cfg;
  if (auto err = cfg.parse(argc, argv))
    return fail("bad options: " + cfg.render(err));
  if (cfg.cli_helptext_printed)
    return EXIT_SUCCESS;
  auto opts = durable::http::server_options::from_config(cfg);
  if (!opts)
    return fail(durable::message_of(opts.error()));
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep)
    return fail("cannot open the deployment: " +
                durable::message_of(dep.error()));
  auto ns = dep->bind<example::rate_limiter>("rate-limiter");
  if (!ns)
    return fail(durable::message_of(ns.error()));
  {
    caf::scoped_actor self{sys};
    self->wait_for(sys.spawn(demo, ns->get_by_name("demo"), 12));
  }
  if (!caf::get_or(cfg, "demo", false)) {
    durable::http::server srv{sys, *opts};
    if (auto err = srv.bind("limit", *ns))
      return fail(durable::message_of(err));
    if (auto err =
            example::serve_until_stopped(srv, stop_signals, opts->address))
      return fail(durable::message_of(err));
  }
  dep->shutdown();
  return EXIT_SUCCESS;
}
