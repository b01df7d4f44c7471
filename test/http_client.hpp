#pragma once

// A small blocking HTTP/1.1 client for the front door's tests: real sockets
// on 127.0.0.1, raw bytes out (so tests can send malformed requests), Beast's
// parser in, and a deadline on every operation.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
// GCC's -Wmaybe-uninitialized misfires inside Beast's response parser
// (boost::optional content length) in sanitizer builds.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http.hpp>

#include <cerrno>

#include <poll.h>
#include <sys/socket.h>

namespace durable::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using response = bhttp::response<bhttp::string_body>;
using namespace std::chrono_literals;

class client {
public:
  explicit client(uint16_t port) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
  }

  void send(const std::string& bytes) {
    run([&](auto done) {
      net::async_write(socket_, net::buffer(bytes), done);
    });
  }

  /// Reads one response; nothing if the connection closed or timed out.
  std::optional<response> read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(head);
    auto ec = run(
        [&](auto done) { bhttp::async_read(socket_, buffer_, parser, done); });
    if (ec)
      return std::nullopt;
    return parser.release();
  }

  std::optional<response>
  request(const std::string& method, const std::string& target,
          const std::string& body = {},
          std::vector<std::pair<std::string, std::string>> headers = {}) {
    send(format(method, target, body, headers));
    return read(method == "HEAD");
  }

  static std::string
  format(const std::string& method, const std::string& target,
         const std::string& body = {},
         const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string out = method + " " + target + " HTTP/1.1\r\nHost: t\r\n";
    for (auto& [k, v] : headers)
      out += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
      out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return out + "\r\n" + body;
  }

  /// Sends `chunk` again and again, bypassing the event loop (so another
  /// thread may `read` meanwhile), until `total` bytes went out, the server
  /// stops taking them for `stall`, or the connection fails. Returns the
  /// bytes sent.
  size_t stream(const std::string& chunk, size_t total,
                std::chrono::milliseconds stall = 2s) {
    size_t sent = 0;
    auto fd = socket_.native_handle();
    while (sent < total) {
      // Partial sends are common: go on where the last one stopped.
      auto offset = sent % chunk.size();
      auto n = ::send(fd, chunk.data() + offset,
                      std::min(chunk.size() - offset, total - sent),
                      MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(stall.count())) == 1 &&
            (p.revents & POLLOUT) != 0)
          continue;
      }
      break;
    }
    return sent;
  }

  /// Reads whatever arrives until the server closes (or `limit` passes
  /// without an end).
  std::string read_to_end(std::chrono::milliseconds limit = 5s) {
    std::string out;
    char scratch[4096];
    for (;;) {
      size_t n = 0;
      auto ec = run(
          [&](auto done) {
            socket_.async_read_some(net::buffer(scratch),
                                    [&n, done](auto ec, size_t k) mutable {
                                      n = k;
                                      done(ec, k);
                                    });
          },
          limit);
      out.append(scratch, n);
      if (ec)
        return out;
    }
  }

  /// Whether the server closes the connection (EOF) within the deadline.
  bool closed_by_server(std::chrono::milliseconds limit = 3s) {
    char scratch[4096];
    for (;;) {
      size_t n = 0;
      auto ec = run(
          [&](auto done) {
            socket_.async_read_some(net::buffer(scratch), done);
          },
          limit);
      if (ec)
        return ec == net::error::eof || ec == net::error::connection_reset;
      (void)n;
    }
  }

private:
  template <class Start>
  boost::system::error_code run(Start start,
                                std::chrono::milliseconds limit = 5s) {
    boost::system::error_code result = net::error::timed_out;
    bool finished = false;
    start([&](boost::system::error_code ec, size_t) {
      result = ec;
      finished = true;
    });
    ioc_.restart();
    ioc_.run_for(limit);
    if (!finished) {
      socket_.cancel();
      ioc_.restart();
      ioc_.run();
      result = net::error::timed_out;
    }
    return result;
  }

  net::io_context ioc_;
  tcp::socket socket_{ioc_};
  boost::beast::flat_buffer buffer_;
};

inline std::string header(const response& r, const char* name) {
  auto i = r.find(name);
  return i == r.end() ? std::string{"<missing>"} : std::string{i->value()};
}

} // namespace durable::test
