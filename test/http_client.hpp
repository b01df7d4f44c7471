#pragma once

// A small blocking HTTP/1.1 client for the front door's tests: real sockets
// on 127.0.0.1, raw bytes out (so tests can send malformed requests), Beast's
// parser in, and a deadline on every operation.

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
