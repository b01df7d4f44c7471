#pragma once

// A blocking Beast WebSocket client on a real socket, for the front door's
// WebSocket tests. Every read is bounded by a deadline (Asio's synchronous
// reads ignore SO_RCVTIMEO), so a test that waits for a message that never
// comes fails instead of hanging.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace durable::test {

namespace wsnet = boost::asio;
namespace wsb = boost::beast;
namespace ws = boost::beast::websocket;

class ws_client {
public:
  using stream_type = ws::stream<wsnet::ip::tcp::socket>;

  /// Connects to 127.0.0.1:`port` and upgrades `path`; `error` and
  /// `response` tell why not.
  ws_client(uint16_t port, const std::string& path,
            std::chrono::seconds timeout = std::chrono::seconds{10})
      : timeout_(timeout), ws_(ioc_) {
    boost::system::error_code ec;
    wsnet::ip::tcp::endpoint ep{wsnet::ip::make_address("127.0.0.1"), port};
    ws_.next_layer().connect(ep, ec);
    if (ec) {
      error = ec;
      return;
    }
    timeval tv{};
    tv.tv_sec = timeout.count();
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
                 sizeof(tv));
    ws_.handshake(response, "127.0.0.1", path, ec);
    error = ec;
  }

  bool ok() const { return !error; }

  /// Sends a text message.
  bool send(const std::string& text) {
    boost::system::error_code ec;
    ws_.text(true);
    ws_.write(wsnet::buffer(text), ec);
    return !ec;
  }

  /// The next message, or nothing (then `error` says why: closed, timeout).
  std::optional<std::string> read() {
    wsb::flat_buffer buf;
    boost::system::error_code ec = wsnet::error::timed_out;
    auto done = false;
    ioc_.restart();
    ws_.async_read(buf, [&](boost::system::error_code x, size_t) {
      ec = x;
      done = true;
    });
    ioc_.run_for(timeout_);
    if (!done) {
      // Overdue: the stream is of no further use.
      boost::system::error_code ignored;
      ws_.next_layer().cancel(ignored);
      ioc_.restart();
      ioc_.run();
      ec = wsnet::error::timed_out;
    }
    if (ec) {
      error = ec;
      return std::nullopt;
    }
    return wsb::buffers_to_string(buf.data());
  }

  /// Reads until the server closes; returns its close code (0: the
  /// connection ended without a close frame).
  uint16_t read_until_closed() {
    while (read()) {
      // skip
    }
    if (error == ws::error::closed)
      return ws_.reason().code;
    return 0;
  }

  stream_type& stream() { return ws_; }

  boost::system::error_code error;
  ws::response_type response;

private:
  std::chrono::seconds timeout_;
  wsnet::io_context ioc_;
  stream_type ws_;
};

} // namespace durable::test
