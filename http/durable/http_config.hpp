#pragma once

#include <caf/config_option_set.hpp>

#include "durable/config.hpp"

namespace durable::http {

/// Adds the `http.*` options to `opts` (an `actor_system_config`'s
/// `custom_options_`), for applications with a config class of their own:
///
/// | option            | default     | meaning                              |
/// |-------------------|-------------|--------------------------------------|
/// | address           | `127.0.0.1` | listen address                       |
/// | port              | `0`         | listen port (0: pick a free one)     |
/// | threads           | `1`         | I/O threads                          |
/// | body-limit        | `1048576`   | largest request body (bytes)         |
/// | header-limit      | `16384`     | largest request head (bytes)         |
/// | request-timeout   | `30s`       | object reply deadline (then 504)     |
/// | read-timeout      | `30s`       | per request read / idle keep-alive   |
/// | shutdown-timeout  | `5s`        | how long stop waits for objects      |
/// | max-pipelined     | `32`        | requests in flight per connection    |
/// | max-connections   | `0`         | open connections (0: from fd limit)  |
/// | max-in-flight     | `4096`      | requests awaiting objects, all conns |
/// | max-in-flight-bytes | `64 MiB`  | their bytes, all connections         |
/// | websocket-message-limit | `1 MiB` | largest WebSocket message (1009)    |
/// | websockets-per-object | `4096`    | WebSockets per object (else 503)     |
/// | max-websockets    | `0`         | WebSockets per server (0: conn. cap) |
/// | websocket-send-queue | `1 MiB`  | queued bytes per socket (else 1008)  |
/// | websocket-close-timeout | `5s`  | close handshake, then TCP close      |
void add_options(caf::config_option_set& opts);

/// A `durable::config` (all `durable.*` options) plus the `http.*` options.
class config : public durable::config {
public:
  config();
};

} // namespace durable::http
