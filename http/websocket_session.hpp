#pragma once

// One WebSocket the front door keeps for an object: it reads the client's
// messages and hands them to the object one at a time, and writes what the
// object sends (from any thread, through `websocket_endpoint`) in order,
// within a bounded queue.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <caf/fwd.hpp>

#include "connection.hpp"
#include "durable/object_id.hpp"
#include "durable/websocket_directory.hpp"

namespace durable::http {

/// A worker's event loop as seen from other threads: posts fail quietly
/// once the server stopped it (objects may still hold endpoints then).
class loop_ref {
public:
  explicit loop_ref(net::io_context& ioc) : ioc_(&ioc) {
    // nop
  }

  template <class F>
  void post(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (ioc_ != nullptr)
      net::post(*ioc_, std::forward<F>(f));
  }

  void reset() {
    std::lock_guard<std::mutex> guard{mtx_};
    ioc_ = nullptr;
  }

private:
  std::mutex mtx_;
  net::io_context* ioc_;
};

/// What an object's accepting response asked for.
struct websocket_terms {
  std::vector<std::string> tags;
  std::string attachment;
  std::string auto_request;
  std::string auto_response;
};

class websocket_session final
    : public websocket_endpoint,
      public std::enable_shared_from_this<websocket_session> {
public:
  using request_type =
      boost::beast::http::request<boost::beast::http::string_body>;

  /// Takes over `socket` (counted in `connections` and `websockets`
  /// already) for socket `id` of `object`.
  websocket_session(server_state& st, worker& w, socket_type socket,
                    detail::binding* target, object_id object, websocket_id id,
                    websocket_terms terms);

  ~websocket_session() override;

  /// Registers with the worker; from then on `kill` or the end of the
  /// socket uncounts it. Worker thread.
  void attach();

  /// Completes the handshake of `req`, adding `headers` to the 101
  /// response. The caller registered the socket in the directory. Worker
  /// thread.
  void start(request_type req, header_list headers);

  /// Delivers the object's answer to the last event. Worker thread.
  void on_ack(caf::message& reply);

  /// Closes with 1001 (the server stops); the object gets no event.
  void go_away();

  /// Closes the TCP connection at once. Worker thread.
  void kill();

  /// Destroys the socket and timer, which belong to the worker's event loop,
  /// once that loop stopped for good (`server::stop`, after `kill`): objects
  /// may hold this session longer (a send waiting for a commit), and the
  /// loop must not be needed when they let go.
  void release_io();

  // -- websocket_endpoint (any thread) ----------------------------------------

  void send(std::shared_ptr<const std::string> data, bool binary) override;

  void close(uint16_t code, std::string reason) override;

  void set_auto_response(std::string request, std::string response) override;

  /// Bytes queued for the client now.
  size_t queued() const noexcept { return queued_; }

private:
  struct frame {
    std::shared_ptr<const std::string> data;
    bool binary;
  };

  void do_read();

  void on_read(boost::system::error_code ec);

  void push_event(websocket_event ev);

  void next_event();

  void push_frame(frame f);

  void do_write();

  void on_write(boost::system::error_code ec);

  void drop_queue();

  /// The queue overflowed: closes with 1008 and tells the object.
  void overflow();

  void begin_close(uint16_t code, std::string reason, caf::timespan grace);

  /// The socket is gone: unregisters (telling the object unless it closed
  /// the socket itself), uncounts, frees what is queued.
  void end(uint16_t code, std::string reason, bool clean);

  /// What belongs to the worker's event loop (see `release_io`).
  struct io_objects {
    io_objects(socket_type socket, net::io_context& ioc)
        : ws(std::move(socket)), close_timer(ioc) {
      // nop
    }
    boost::beast::websocket::stream<socket_type> ws;
    net::steady_timer close_timer;
  };

  // Touched only on the worker's loop while it runs, except the members
  // `send` and friends read from any thread: `loop_`, `send_limit_`,
  // `queued_` and `overflowing_`.
  server_state& st_;
  worker& w_;
  std::shared_ptr<loop_ref> loop_;
  /// `http.websocket-send-queue`, copied: the server may be gone when an
  /// object sends.
  size_t send_limit_;
  std::unique_ptr<io_objects> io_;
  boost::beast::flat_buffer in_;
  std::optional<request_type> req_;
  detail::binding* target_;
  object_id object_;
  websocket_id id_;
  websocket_terms terms_;
  std::deque<frame> out_;
  std::deque<websocket_event> events_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> overflowing_{false};
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool event_in_flight_ = false;
  bool closing_ = false;
  bool ended_ = false;
  bool close_pending_ = false;
  uint16_t close_code_ = 1000;
  std::string close_reason_;
};

} // namespace durable::http
