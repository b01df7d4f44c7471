#include "durable/http_config.hpp"

#include <limits>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>

#include "durable/errc.hpp"
#include "durable/http_server.hpp"

namespace durable::http {

void add_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "http"}
      .add<std::string>("address", "listen address (default 127.0.0.1)")
      .add<uint16_t>("port", "listen port (0: pick a free one)")
      .add<size_t>("threads", "number of I/O threads")
      .add<size_t>("body-limit", "largest request body in bytes (else 413)")
      .add<size_t>("header-limit", "largest request head in bytes (else 431)")
      .add<caf::timespan>("request-timeout",
                          "how long objects may take to answer (else 504)")
      .add<caf::timespan>("read-timeout",
                          "per request read, and idle keep-alive, limit")
      .add<caf::timespan>("shutdown-timeout",
                          "how long stopping waits for objects")
      .add<size_t>("max-pipelined", "requests in flight per connection")
      .add<size_t>("max-connections",
                   "open connections at most, then 503 (0: from the fd limit)")
      .add<size_t>("max-in-flight",
                   "requests awaiting objects at most, then 503 overloaded")
      .add<size_t>("max-in-flight-bytes",
                   "bytes of requests awaiting objects at most, then 503")
      .add<size_t>("websocket-message-limit",
                   "largest WebSocket message in bytes (else close 1009)")
      .add<size_t>("websockets-per-object",
                   "WebSockets one object may hold (else 503)")
      .add<size_t>("max-websockets",
                   "WebSockets of this server (0: max-connections bounds)")
      .add<size_t>("websocket-send-queue",
                   "bytes queued per WebSocket client (else close 1008)")
      .add<caf::timespan>("websocket-close-timeout",
                          "how long a WebSocket close handshake may take");
}

config::config() {
  add_options(custom_options_);
}

caf::expected<server_options>
server_options::from_config(const caf::actor_system_config& cfg) {
  server_options x;
  auto fail = [](const char* what) {
    return make_error(errc::invalid_argument, what);
  };
  x.address = caf::get_or(cfg, "http.address", x.address);
  x.port = caf::get_or(cfg, "http.port", x.port);
  x.threads = caf::get_or(cfg, "http.threads", x.threads);
  x.body_limit =
      caf::get_or(cfg, "http.body-limit", static_cast<size_t>(x.body_limit));
  auto header_limit = caf::get_or(cfg, "http.header-limit",
                                  static_cast<size_t>(x.header_limit));
  x.request_timeout =
      caf::get_or(cfg, "http.request-timeout", x.request_timeout);
  x.read_timeout = caf::get_or(cfg, "http.read-timeout", x.read_timeout);
  x.shutdown_timeout =
      caf::get_or(cfg, "http.shutdown-timeout", x.shutdown_timeout);
  x.max_pipelined = caf::get_or(cfg, "http.max-pipelined", x.max_pipelined);
  x.max_connections =
      caf::get_or(cfg, "http.max-connections", x.max_connections);
  x.max_in_flight = caf::get_or(cfg, "http.max-in-flight", x.max_in_flight);
  x.max_in_flight_bytes =
      caf::get_or(cfg, "http.max-in-flight-bytes",
                  static_cast<size_t>(x.max_in_flight_bytes));
  x.websocket_message_limit =
      caf::get_or(cfg, "http.websocket-message-limit",
                  static_cast<size_t>(x.websocket_message_limit));
  x.websockets_per_object =
      caf::get_or(cfg, "http.websockets-per-object", x.websockets_per_object);
  x.max_websockets = caf::get_or(cfg, "http.max-websockets", x.max_websockets);
  x.websocket_send_queue =
      caf::get_or(cfg, "http.websocket-send-queue", x.websocket_send_queue);
  x.websocket_close_timeout = caf::get_or(cfg, "http.websocket-close-timeout",
                                          x.websocket_close_timeout);
  if (x.websocket_message_limit == 0 || x.websockets_per_object == 0 ||
      x.websocket_send_queue == 0)
    return fail("http.websocket-message-limit, http.websockets-per-object "
                "and http.websocket-send-queue must be at least 1");
  if (x.address.empty())
    return fail("http.address must not be empty");
  if (x.threads == 0 || x.threads > 1024)
    return fail("http.threads must be between 1 and 1024");
  if (header_limit < 256 || header_limit > std::numeric_limits<uint32_t>::max())
    return fail("http.header-limit must be at least 256");
  x.header_limit = static_cast<uint32_t>(header_limit);
  if (x.request_timeout <= caf::timespan{0} ||
      x.read_timeout <= caf::timespan{0})
    return fail("http.request-timeout and http.read-timeout must be positive");
  if (x.shutdown_timeout < caf::timespan{0})
    return fail("http.shutdown-timeout must not be negative");
  if (x.max_pipelined == 0)
    return fail("http.max-pipelined must be at least 1");
  if (x.max_in_flight == 0)
    return fail("http.max-in-flight must be at least 1");
  return x;
}

} // namespace durable::http
