#pragma once

// One keep-alive HTTP/1.1 connection to one etcd member, used by one thread
// at a time. Every exchange is bounded by a deadline: the operations run
// asynchronously on the connection's own io_context, which the calling
// thread drives until they finish or Beast's timer closes the socket.

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace durable::etcd {

/// What the server answered.
struct http_answer {
  unsigned status = 0;
  std::string body;
};

class connection {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Largest answer body taken (etcd's own request limit is 1.5 MiB).
  static constexpr size_t max_body = 4 * 1024 * 1024;

  connection(boost::asio::ip::tcp::endpoint peer, std::string host);

  /// POSTs `body` (JSON) to `target` and reads the answer, connecting first
  /// if needed, all before `deadline`. On failure, returns nothing and says
  /// why in `why`; the connection is then unusable (drop it).
  std::optional<http_answer> post(const std::string& target,
                                  const std::string& body, time_point deadline,
                                  std::string& why);

  /// Whether an earlier exchange went through this connection (a failure on
  /// it may only mean that the server closed it while idle).
  bool reused() const noexcept { return exchanges_ > 0; }

  /// Whether the connection may carry another exchange.
  bool usable() const noexcept { return usable_; }

private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_{ioc_};
  boost::beast::flat_buffer buffer_;
  boost::asio::ip::tcp::endpoint peer_;
  std::string host_;
  bool connected_ = false;
  bool usable_ = true;
  size_t exchanges_ = 0;
};

} // namespace durable::etcd
