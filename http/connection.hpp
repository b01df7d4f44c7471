#pragma once

// The server's moving parts, shared by server.cpp, connection.cpp and
// exchange.cpp: the per-thread event loops (workers), the state all
// connections read, the exchange that carries one request to its object and
// back, and the connection itself.

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

#include "admin.hpp"
#include "durable/fetch.hpp"
#include "durable/http_binding.hpp"
#include "durable/http_server.hpp"
#include "durable/object_id.hpp"
#include "metrics.hpp"

namespace durable::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

/// A socket bound to one io_context's executor type: cheaper per operation
/// than the type-erased default executor of `tcp::socket`.
using socket_type =
    net::basic_stream_socket<tcp, net::io_context::executor_type>;

class connection;

class loop_ref;

class websocket_session;

/// One I/O thread: its event loop, the connections it owns, and the CAF
/// companion actor in whose name it sends requests to objects. Everything
/// but `done` is touched only from the loop's own thread once it runs.
struct worker {
  // Declared first so that it is destroyed last: the timer and the
  // connections its queued handlers own refer to it.
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  net::steady_timer sweep_timer{ioc};
  // Keyed by address for removal on close; weak so that a connection dying
  // elsewhere (say, with its last exchange awaiting a reply) leaves no dangling
  // pointer behind.
  std::unordered_map<connection*, std::weak_ptr<connection>> conns;
  /// Set when the server stops accepting: new connections close at once.
  bool draining = false;
  /// Set when the server closes everything that is not writing.
  bool stopping = false;
  std::thread thread;
  std::atomic<bool> done{false};
  /// Sends requests into CAF; replies come back through its enqueue
  /// handler, posted to this loop (no actor hop on either way).
  caf::strong_actor_ptr companion;
  /// Exchanges sent to objects, by request ID.
  std::unordered_map<uint64_t, std::shared_ptr<detail::exchange>> waiting;
  /// This loop for other threads (objects sending to WebSockets).
  std::shared_ptr<loop_ref> loop;
  /// Open WebSockets, like `conns`.
  std::unordered_map<websocket_session*, std::weak_ptr<websocket_session>>
      sockets;
  /// Every WebSocket session made on this loop that may still live (ended
  /// ones too: objects may hold them), for `websocket_session::release_io`.
  std::vector<std::weak_ptr<websocket_session>> all_sockets;

  /// Adds `session` to `all_sockets`, dropping dead entries now and then
  /// (amortized O(1)). Loop thread.
  void track(std::weak_ptr<websocket_session> session);

  /// WebSockets whose last event awaits its object's answer, by request ID.
  std::unordered_map<uint64_t, std::shared_ptr<websocket_session>> ws_waiting;

  /// Spawns the companion (before the loop runs).
  void connect(caf::actor_system& sys);

  /// Drops the companion: later replies go nowhere. Any thread.
  void disconnect();

  /// A new request ID of the companion. Loop thread.
  caf::message_id next_request_id();

  /// Completes the exchange a reply is for. Loop thread.
  void on_reply(caf::mailbox_element_ptr reply);
};

/// What all connections share. Fixed once the server runs, except the
/// counters.
struct server_state {
  explicit server_state(caf::actor_system& sys, server_options opts)
      : sys(sys), opts(std::move(opts)) {
    // nop
  }

  caf::actor_system& sys;
  server_options opts;
  // std::less<> allows lookup by string_view without a copy.
  std::map<std::string, std::shared_ptr<detail::binding>, std::less<>> bindings;
  /// Answers `/admin/...` if set (see `server::serve_admin`).
  const namespace_registry* registry = nullptr;
  /// More read-only views under `/admin/<name>` (see `serve_admin_view`).
  admin_views views;
  /// Answers `/metrics` if set (see `server::serve_metrics`).
  metrics_source metrics;
  /// The server's own figures (responses by status, WebSockets).
  http_metrics http;
  /// Requests sent to objects and not yet back on their connection (those
  /// of closed connections are forgotten, so not counted).
  std::atomic<size_t> in_flight{0};
  /// Bytes of the requests counted in `in_flight` (method, target, headers,
  /// body), which sit in the objects' mailboxes.
  std::atomic<size_t> in_flight_bytes{0};
  /// Open WebSockets (counted in `connections` too).
  std::atomic<size_t> websockets{0};
  /// Bytes queued for WebSocket clients, all sockets.
  std::atomic<size_t> websocket_queued{0};
  /// Admitted connections, counted by the acceptor when it admits them.
  std::atomic<size_t> connections{0};
  /// Connections over the cap still being told `503` (at most
  /// `refusal_slots`; beyond, they are closed right after accept).
  std::atomic<size_t> refusing{0};

  /// Refused connections given a `503` at once; each lingers at most a
  /// second, so they take few descriptors.
  static constexpr size_t refusal_slots = 64;

  /// Largest unparsed input a connection buffers: a request head, or a
  /// chunk-size line with its extensions, or a trailer, plus room for one
  /// read. Bodies do not count (the parser moves them out as they come).
  size_t input_limit() const { return opts.header_limit + 16 * 1024; }
};

namespace detail {

/// One request: made by its connection, sent to its object in the name of
/// the connection's worker, completed on that worker's thread by the reply.
class exchange {
public:
  std::shared_ptr<connection> conn;
  binding* target = nullptr;
  object_ref ref;
  fetch_request request;
  /// The answer; the object's reply or the connection's own error.
  fetch_response response;
  /// The request ID it was sent with (0: not sent).
  uint64_t request_id = 0;
  /// When the object's answer is overdue (then the client gets 504).
  clock_type::time_point deadline;
  /// Whether `response` is final. `response` and `ready` are only touched
  /// on the connection's thread once the exchange was sent: `finish` posts
  /// the outcome there.
  bool ready = false;
  /// What it adds to `server_state::in_flight_bytes` while sent.
  size_t bytes = 0;
  /// The object the request went to.
  object_id object;
  /// The head of a WebSocket upgrade request, kept for the handshake.
  std::optional<boost::beast::http::request<boost::beast::http::string_body>>
      upgrade;
  /// Request properties that shape the response.
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
};

} // namespace detail

/// Uncounts `ex`, whose object answered or which was forgotten.
inline void release(server_state& st, const detail::exchange& ex) {
  --st.in_flight;
  st.in_flight_bytes -= ex.bytes;
}

/// One client connection: reads requests (several may be in flight:
/// pipelining), sends them to their objects and writes the responses in
/// request order. Lives on one worker's thread; `on_ready` is posted there.
class connection : public std::enable_shared_from_this<connection> {
public:
  /// A connection admitted under the cap, or (`refused`) one over it that
  /// only gets a `503`. The acceptor counted it already (`connections` or
  /// `refusing`); `close` uncounts it.
  connection(server_state& st, worker& w, socket_type socket,
             bool refused = false);

  /// Registers with the worker and starts reading, or answers `503` and
  /// closes if refused. Worker thread.
  void start();

  /// Completes `ex` with `resp` (the object's reply), unless it timed out
  /// before. Worker thread.
  void on_ready(detail::exchange_ptr ex, fetch_response resp);

  /// Answers requests whose objects are overdue with 504 (sweep).
  void expire_requests(clock_type::time_point now);

  /// Stops taking requests; closes once what is in flight went out.
  void drain();

  /// Closes unless a response is being written; that one finishes first.
  /// Worker thread, once the worker is stopping.
  void stop_now();

  /// Closes at once, dropping whatever is pending. Idempotent.
  void close();

  /// Whether the client has exceeded its time (sweep).
  bool timed_out(clock_type::time_point now) const;

  net::io_context::executor_type executor() { return w_.ioc.get_executor(); }

private:
  using request_parser =
      boost::beast::http::request_parser<boost::beast::http::string_body>;
  using response_type =
      boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();

  void on_header(boost::system::error_code ec);

  void on_body(boost::system::error_code ec);

  void on_read_error(boost::system::error_code ec);

  /// Whether a request of this connection awaits its object.
  bool awaiting_objects() const;

  /// Drops `ex` from the requests whose replies are awaited, if it is there:
  /// a later reply finds nothing.
  void forget(const detail::exchange& ex);

  /// While the connection is not read (its pipeline is full, or the server
  /// drains) but has requests at objects: closes it as soon as the client
  /// goes away, so those are forgotten then, not when the objects answer.
  void watch_for_close();

  /// Whether the server can take `ex` now (else it answers 503 overloaded).
  bool admit(const detail::exchange& ex) const;

  void on_request();

  /// Queues a response the server makes itself, in request order.
  void respond(fetch_response resp, bool keep_alive);

  void do_write();

  void on_write(boost::system::error_code ec);

  void build_response(detail::exchange& ex, bool keep_alive);

  /// Half-closes after a final response and discards further input so the
  /// client reads the response instead of a reset.
  void linger();

  /// Hands the socket of an accepted upgrade to a WebSocket session, or
  /// answers why it cannot be accepted. The front exchange is `ex`.
  void upgrade(detail::exchange& ex);

  void discard();

  server_state& st_;
  worker& w_;
  socket_type socket_;
  boost::beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  std::deque<detail::exchange_ptr> pending_;
  response_type out_;
  clock_type::time_point last_progress_;
  bool reading_ = false;
  bool writing_ = false;
  bool no_more_reads_ = false;
  bool draining_ = false;
  bool lingering_ = false;
  bool closed_ = false;
  bool registered_ = false;
  bool refused_ = false;
  bool watching_ = false;
  bool counted_ = true;
  /// An upgrade request awaits its object: read nothing after it.
  bool upgrading_ = false;
};

} // namespace durable::http
