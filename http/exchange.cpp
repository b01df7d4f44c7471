// The bridge side of an exchange: what the typed bindings call from the
// bridge actors (CAF threads).

#include <utility>

#include <boost/asio/post.hpp>

#include "connection.hpp"
#include "routing.hpp"

namespace durable::http::detail {

binding::~binding() {
  // nop
}

const object_ref& target_of(const exchange& ex) {
  return ex.ref;
}

fetch_request take_request(exchange& ex) {
  return std::move(ex.request);
}

void finish(exchange_ptr ex, fetch_response resp) {
  // The response travels with the handler: the I/O thread may be writing a
  // 504 from `ex` right now.
  auto exec = ex->conn->executor();
  net::post(exec, [ex{std::move(ex)}, resp{std::move(resp)}]() mutable {
    auto conn = ex->conn.get();
    conn->on_ready(std::move(ex), std::move(resp));
  });
}

void finish(exchange_ptr ex, caf::error err) {
  finish(std::move(ex), error_response(err));
}

} // namespace durable::http::detail
