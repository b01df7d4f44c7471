#include "connection.hpp"

// GCC's -Wmaybe-uninitialized misfires inside Beast's parser in sanitizer
// builds (boost::optional content length).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http.hpp>

namespace durable::etcd {

namespace http = boost::beast::http;
using boost::system::error_code;

connection::connection(boost::asio::ip::tcp::endpoint peer, std::string host)
    : peer_(peer), host_(std::move(host)) {
  // Nothing else.
}

std::optional<http_answer> connection::post(const std::string& target,
                                            const std::string& body,
                                            time_point deadline,
                                            std::string& why) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  error_code result;
  const char* step = "connect";
  // The handlers run inside `ioc_.run()` below, so references stay valid.
  auto on_read = [&](error_code ec, size_t) { result = ec; };
  auto on_write = [&](error_code ec, size_t) {
    if (ec) {
      result = ec;
      return;
    }
    step = "read";
    http::async_read(stream_, buffer_, parser, on_read);
  };
  auto send = [&] {
    step = "write";
    http::async_write(stream_, req, on_write);
  };
  stream_.expires_at(deadline);
  if (connected_) {
    send();
  } else {
    stream_.async_connect(peer_, [&](error_code ec) {
      if (ec) {
        result = ec;
        return;
      }
      connected_ = true;
      send();
    });
  }
  ioc_.restart();
  ioc_.run();
  if (result) {
    usable_ = false;
    why = std::string{step} + ": " + result.message();
    return std::nullopt;
  }
  ++exchanges_;
  auto res = parser.release();
  if (!res.keep_alive())
    usable_ = false;
  return http_answer{res.result_int(), std::move(res.body())};
}

} // namespace durable::etcd
