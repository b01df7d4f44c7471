// A chat room per name, over WebSockets, with its history kept in storage.
//
//   chat_room [--http.port=8080] [--durable.data-dir=D]
//
//   open http://127.0.0.1:8080/chat/<room>?name=<you> in two browsers
//
// Prints "listening on ADDRESS:PORT" once it accepts connections and runs
// until SIGINT or SIGTERM.

#include <string>

#include <caf/all.hpp>

#include "../serve.hpp"
#include "chat_room.hpp"
#include "durable/deployment.hpp"
#include "durable/http_config.hpp"
#include "durable/http_server.hpp"

namespace {

int fail(const std::string& what) {
  return example::fail("chat_room", what);
}

} // namespace

int main(int argc, char** argv) {
  auto stop_signals = example::block_stop_signals();
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
    if (auto err =
            example::serve_until_stopped(srv, stop_signals, opts->address))
      return fail(durable::message_of(err));
  }
  dep->shutdown();
  return EXIT_SUCCESS;
}
