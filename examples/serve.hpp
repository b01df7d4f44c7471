#pragma once

// The steps every example server shares: block the stop signals before any
// thread exists, serve until SIGINT or SIGTERM, and report failures.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <pthread.h>

#include "durable/errc.hpp"
#include "durable/http_server.hpp"

namespace example {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it
/// starts later, so that only `sigwait` receives them. Call first in `main`.
inline sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

/// Prints "<program>: <what>" to stderr; returns EXIT_FAILURE.
inline int fail(const char* program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  return EXIT_FAILURE;
}

/// Starts `srv`, prints "listening on ADDRESS:PORT" (what tests wait for),
/// and stops it after SIGINT or SIGTERM (blocked by `block_stop_signals`).
/// Returns why the server could not start.
inline caf::error serve_until_stopped(durable::http::server& srv,
                                      const sigset_t& signals,
                                      const std::string& address) {
  if (auto err = srv.start())
    return err;
  std::printf("listening on %s:%u\n", address.c_str(),
              static_cast<unsigned>(srv.port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  srv.stop();
  return caf::none;
}

} // namespace example
