#pragma once

// WebSockets terminated at durable objects: the messages an object receives
// for its sockets, and the `fetch` answer that accepts an upgrade. The HTTP
// front door (`durable::http::server`) owns the sockets; see
// `durable/websocket_set.hpp` for what an object can do with them.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "durable/fetch.hpp"

namespace durable {

/// Identifies one WebSocket; unique in this process, never reused.
using websocket_id = uint64_t;

/// A socket the object accepted is open: the handshake completed and the
/// socket appears in `websockets().list()`.
struct websocket_open {
  websocket_id socket = 0;
};

/// A complete message from the client (text unless `binary`).
struct websocket_message {
  websocket_id socket = 0;
  std::string data;
  bool binary = false;
};

/// The socket is gone: the client closed it (`clean`, with its code and
/// reason), or it was lost (1006: reset or end of stream without a close
/// frame), or the front door closed it (1008: slow reader, 1009: message
/// too big). Sent once per socket, unless the object closed it itself.
struct websocket_close {
  websocket_id socket = 0;
  uint16_t code = 1005;
  std::string reason;
  bool clean = false;
};

/// Something went wrong on the socket (a protocol violation by the
/// client, an oversized message); a `websocket_close` follows.
struct websocket_error {
  websocket_id socket = 0;
  std::string what;
};

/// What an object adds to its typed interface to take WebSockets; the
/// handlers return nothing:
///
/// ~~~
/// using room_api = caf::typed_actor<durable::fetch_signature>::extend_with<
///   durable::websocket_signatures>;
/// ~~~
using websocket_signatures = caf::typed_actor<
    caf::reacts_to<websocket_open>, caf::reacts_to<websocket_message>,
    caf::reacts_to<websocket_close>, caf::reacts_to<websocket_error>>;

/// How an object accepts a WebSocket upgrade (see `accept_websocket`).
struct websocket_accept {
  /// Labels for `websockets().list(tag)`: at most 10, each 1 to 256 bytes.
  std::vector<std::string> tags;
  /// Bytes the object keeps with the socket (Cloudflare's
  /// serializeAttachment), at most `max_websocket_attachment`.
  std::string attachment;
  /// A text message the front door answers itself with `auto_response`,
  /// without waking the object (Cloudflare's setWebSocketAutoResponse),
  /// e.g. "ping" -> "pong". Empty: none.
  std::string auto_request;
  std::string auto_response;
};

/// Largest attachment of one socket (bytes).
constexpr size_t max_websocket_attachment = 2048;

/// Most tags of one socket, and the longest tag.
constexpr size_t max_websocket_tags = 10;
constexpr size_t max_websocket_tag_size = 256;

/// Answers a `fetch` that carries `Upgrade: websocket` with "accept": the
/// front door completes the handshake and owns the socket from then on.
/// Any other response refuses the upgrade and goes to the client as is.
fetch_response accept_websocket(websocket_accept opts);

/// Shorthand for `accept_websocket({tags, attachment})`.
fetch_response accept_websocket(std::vector<std::string> tags = {},
                                std::string attachment = {});

/// Whether `req` asks for a WebSocket upgrade (`Upgrade: websocket`).
bool is_websocket_upgrade(const fetch_request& req);

/// The header through which an accepting response reaches the front door
/// (its value names the accepting process, see `websocket_directory`).
constexpr const char* websocket_accept_header = "x-durable-websocket-accept";

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, websocket_open& x) {
  return f(caf::meta::type_name("durable::websocket_open"), x.socket);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, websocket_message& x) {
  return f(caf::meta::type_name("durable::websocket_message"), x.socket, x.data,
           x.binary);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, websocket_close& x) {
  return f(caf::meta::type_name("durable::websocket_close"), x.socket, x.code,
           x.reason, x.clean);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, websocket_error& x) {
  return f(caf::meta::type_name("durable::websocket_error"), x.socket, x.what);
}

} // namespace durable
