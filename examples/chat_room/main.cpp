// A chat room per name, over WebSockets, with its history kept in storage.
//
//   chat_room [--http.port=8080] [--durable.data-dir=D]
//
//   open http://127.0.0.1:8080/chat/<room>?name=<you> in two browsers
//
// Prints "listening on ADDRESS:PORT" once it accepts connections and runs
// until SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <caf/all.hpp>

#include "chat_room.hpp"
#include "durable/deployment.hpp"
#include "durable/http_config.hpp"
#include "durable/http_server.hpp"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "chat_room: %s\n", what.c_str());
  return EXIT_FAILURE;
}

} // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  durable::http::config cfg;
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
  auto rooms = dep->bind<example::chat_room>("chat-room");
  if (!rooms)
    return fail(durable::message_of(rooms.error()));
  {
    durable::http::server srv{sys, *opts};
    if (auto err = srv.bind("chat", *rooms))
      return fail(durable::message_of(err));
    if (auto err = srv.start())
      return fail(durable::message_of(err));
    std::printf("listening on %s:%u\n", opts->address.c_str(),
                static_cast<unsigned>(srv.port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    srv.stop();
  }
  dep->shutdown();
  return EXIT_SUCCESS;
}
