#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "durable/http_binding.hpp"
#include "durable/object_namespace.hpp"

namespace durable {
class deployment;
class metrics_text;
class namespace_registry;
} // namespace durable

namespace durable::http {

/// Settings of an HTTP front door. `from_config` reads them from the
/// `http.*` options (see `durable::http::config`).
struct server_options {
  /// The address to listen on; loopback unless told otherwise.
  std::string address = "127.0.0.1";
  /// The port to listen on; 0 picks a free one (see `server::port`).
  uint16_t port = 0;
  /// Number of I/O threads; each runs its own event loop and owns the
  /// connections it accepted.
  size_t threads = 1;
  /// Largest accepted request body; larger ones get 413.
  uint64_t body_limit = 1024 * 1024;
  /// Largest accepted request head (request line and headers); larger ones
  /// get 431.
  uint32_t header_limit = 16 * 1024;
  /// How long an object may take to answer; then the client gets 504.
  caf::timespan request_timeout = std::chrono::seconds{30};
  /// How long a client may take to send a whole request, or stay idle
  /// between requests, or take to receive a response; then the connection
  /// is closed.
  caf::timespan read_timeout = std::chrono::seconds{30};
  /// How long `stop` waits for requests already sent to objects.
  caf::timespan shutdown_timeout = std::chrono::seconds{5};
  /// Requests of one connection in flight at once (pipelining) before the
  /// server stops reading from it until responses went out.
  size_t max_pipelined = 32;
  /// Open client connections at most; a client beyond gets an immediate
  /// `503` (JSON body, `Connection: close`). 0 picks
  /// `min(RLIMIT_NOFILE - 256, 10000)` at `start`, so that descriptors never
  /// run out (an acceptor out of descriptors stalls every new client).
  size_t max_connections = 0;
  /// Requests awaiting their objects at once, over all connections; beyond
  /// it a request gets `503` with `"overloaded": true` at once instead of
  /// queueing. Bounds what the front door can push into the runtime.
  size_t max_in_flight = 4096;
  /// Bytes of those requests (method, target, headers, body) at most, the
  /// same way; a single request is always taken (see `body_limit`).
  uint64_t max_in_flight_bytes = 64 * 1024 * 1024;
  /// Largest WebSocket message a client may send; a larger one closes the
  /// socket with 1009 (message too big). Cloudflare's limit is 1 MiB too.
  uint64_t websocket_message_limit = 1024 * 1024;
  /// WebSockets one object may hold; a further upgrade gets `503`
  /// (overloaded) instead of `101`.
  size_t websockets_per_object = 4096;
  /// WebSockets of this server at most (they are connections too, so
  /// `max_connections` bounds them as well; 0: only that bound). A further
  /// upgrade gets `503`.
  size_t max_websockets = 0;
  /// Bytes queued for one WebSocket client at most; a client that reads
  /// slower than its object sends is closed with 1008 (policy violation)
  /// and what was queued for it is dropped.
  size_t websocket_send_queue = 1024 * 1024;
  /// How long a WebSocket close handshake may take before the TCP
  /// connection is closed anyway (on `stop`, at most one second).
  caf::timespan websocket_close_timeout = std::chrono::seconds{5};
  /// Reads the `http.*` options of `cfg`, defaults for what is absent.
  static caf::expected<server_options>
  from_config(const caf::actor_system_config& cfg);
};

/// An HTTP/1.1 server (Boost.Beast) that routes requests to the `fetch`
/// handlers of durable objects:
///
/// | path                              | object                        |
/// |-----------------------------------|-------------------------------|
/// | `/<binding>/<name>[/<rest>]`      | `ns.get_by_name(name)`        |
/// | `/<binding>/id/<64 hex>[/<rest>]` | `ns.get(ns.id_from_string(hex))` |
///
/// The name segment is percent-decoded (`/counter/a%2Fb` names "a/b"; a
/// malformed escape is a 400), so any byte string can be a name; the
/// segment `id` is reserved. The object receives the method, the request
/// target exactly as sent (path and query, not decoded), the headers in
/// order and the body; its status, headers and body go back.
///
/// Errors are JSON bodies `{"error": text, "retryable": bool, "overloaded":
/// bool, "remote": bool}`: 400 for a bad ID (with the namespace's text) or a
/// malformed request, 404 for an unknown binding, 413 for a body over
/// `body_limit`, 431 for a head over `header_limit`, 500 when the object
/// threw (`remote`) or failed otherwise, 503 when it is overloaded or
/// unavailable, 504 when it did not answer within `request_timeout`.
///
/// Keep-alive and pipelining are supported; responses of one connection go
/// out in request order. Everything a client can fill is bounded: its
/// unparsed input (a request head, chunk-size line with extensions, trailer
/// or pipelined requests not yet parsed) to `header_limit` + 16 KiB (more
/// gets 431), a body to `body_limit` (413), its requests in flight to
/// `max_pipelined` (then the server stops reading it), all requests in
/// flight to `max_in_flight` and `max_in_flight_bytes` (503, overloaded),
/// connections to
/// `max_connections` (503). A client that closes (or half-closes) its
/// connection while requests of it are in flight is taken as gone, as
/// nginx does: those requests are forgotten. Each I/O thread sends requests
/// straight to the objects in the name of a CAF companion actor, whose replies
/// are posted back to the thread (no blocking actor and no extra actor hop on
/// the request path).
///
/// WebSockets: an object whose interface contains
/// `durable::websocket_signatures` may answer a request with
/// `Upgrade: websocket` by `durable::accept_websocket(...)`; the server then
/// completes the handshake, keeps the socket (also while the object is
/// evicted) and delivers `websocket_open`, `websocket_message`,
/// `websocket_close` and `websocket_error` to the object, one at a time per
/// socket and in order (the next message of a socket is read once the object
/// handled the previous one). The object sends through
/// `object::websockets()`. Bounded by `websocket_message_limit` (1009),
/// `websocket_send_queue` (1008), `websockets_per_object` and
/// `max_websockets` (503 instead of 101). Only objects of this process can
/// accept: an object on another cluster node that accepts makes the
/// upgrade fail with 501 (connect to that node instead). `stop` closes
/// every socket with 1001 (going away); objects get no `websocket_close`
/// for those.
///
/// Destroy the server before the actor system and the deployment.
class server {
public:
  // -- constructors, destructors, and assignment operators --------------------

  server(caf::actor_system& sys, server_options opts = {});

  server(const server&) = delete;

  server& operator=(const server&) = delete;

  /// Calls `stop`.
  ~server();

  // -- configuration (before `start`) -----------------------------------------

  /// Serves the namespace `ns` under `/<segment>/...`. The segment must be
  /// non-empty and made of letters, digits, `-`, `.`, `_` and `~`. The
  /// interface must contain `durable::fetch_signature` (checked at compile
  /// time). Fails for a bad or taken segment, or once started.
  template <class Interface>
  caf::error bind(std::string segment, object_namespace<Interface> ns) {
    return bind_impl(
        std::move(segment),
        std::make_shared<detail::typed_binding<Interface>>(std::move(ns)));
  }

  /// Serves read-only views of `registry` under `/admin`:
  /// `GET /admin/namespaces?page=&per_page=` lists the namespaces in the REST
  /// API's JSON envelope. `registry` must outlive the server. The segment
  /// `admin` is then reserved: fails if a namespace is bound to it, or once
  /// started.
  caf::error serve_admin(const namespace_registry& registry);

  /// Serves `view()` at `GET /admin/<name>` (after `serve_admin`), e.g. a
  /// cluster's link states. `view` runs on an I/O thread: it must be quick
  /// and must not block. Fails for a bad or taken name, or once started.
  caf::error serve_admin_view(std::string name,
                              std::function<fetch_response()> view);

  /// Serves `GET /metrics` in the Prometheus text format (0.0.4): what
  /// `source` writes, then the server's own figures
  /// (`durable_http_requests_total{code}` by status, open connections,
  /// requests in flight, WebSocket connections). `source` runs on an I/O
  /// thread per scrape: it must be quick and must not block. The segment
  /// `metrics` is then reserved: fails if a namespace is bound to it, or once
  /// started.
  caf::error serve_metrics(std::function<void(metrics_text&)> source);

  /// Serves the figures of `dep` (see `deployment::metrics`) and the
  /// server's at `GET /metrics`. `dep` must outlive the server.
  caf::error serve_metrics(const deployment& dep);

  // -- lifetime ---------------------------------------------------------------

  /// Listens and starts the I/O threads and their companions. Fails if the
  /// address cannot be bound or the server was started before.
  caf::error start();

  /// Stops accepting, answers requests already in flight (waiting up to
  /// `shutdown_timeout` for objects; requests of clients that left are not
  /// waited for), closes all connections and joins the I/O threads. Returns
  /// within about `shutdown_timeout` plus one second whatever the clients
  /// do. Idempotent; call from a thread that is not an actor.
  void stop();

  // -- properties -------------------------------------------------------------

  /// The port the server listens on (the ephemeral one if `port` was 0);
  /// 0 before `start`.
  uint16_t port() const noexcept;

  /// The options the server runs with.
  const server_options& options() const noexcept;

  /// Number of open client connections (refused ones not counted).
  size_t connections() const noexcept;

  /// Number of requests sent to objects whose answer is still awaited by a
  /// connected client. A request whose client closed is forgotten at once:
  /// its state is freed and the object's eventual reply dropped.
  size_t pending_requests() const noexcept;

  /// Number of open WebSockets (counted in `connections` too).
  size_t websockets() const noexcept;

  /// Bytes queued for WebSocket clients, over all sockets (each bounded by
  /// `websocket_send_queue`).
  size_t websocket_queued_bytes() const noexcept;

private:
  struct impl;

  caf::error bind_impl(std::string segment,
                       std::shared_ptr<detail::binding> target);

  std::unique_ptr<impl> impl_;
};

} // namespace durable::http
