#include "connection.hpp"

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <utility>

#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <strings.h>
#include <sys/socket.h>

#include <caf/send.hpp>

#include "admin.hpp"
#include "routing.hpp"
#include "websocket_session.hpp"

namespace durable::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

std::string_view view(beast::string_view x) {
  return {x.data(), x.size()};
}

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size() && strncasecmp(x.data(), y.data(), x.size()) == 0;
}

/// Whether `ec` is a parse error of Beast's HTTP parser (the client sent
/// something that is not HTTP, or too much of it).
bool is_parse_error(const error_code& ec) {
  return ec.category() ==
         bhttp::make_error_code(bhttp::error::need_more).category();
}

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

} // namespace

// -- connection ---------------------------------------------------------------

connection::connection(server_state& st, worker& w, socket_type socket,
                       bool refused)
    : st_(st),
      w_(w),
      socket_(std::move(socket)),
      // Bounds what a client can make the server buffer before the parser
      // takes it: without it a chunk-size line ("5;eeee...") or a trailer
      // grows without limit (no header or body limit applies to them).
      buffer_(st.input_limit()),
      last_progress_(clock_type::now()),
      refused_(refused) {
  // nop
}

void connection::start() {
  w_.conns.emplace(this, weak_from_this());
  registered_ = true;
  if (w_.draining || w_.stopping) {
    close();
    return;
  }
  // Responses are small and latency matters: no Nagle delay.
  error_code ec;
  socket_.set_option(tcp::no_delay{true}, ec);
  if (refused_) {
    // Said at once, before the client sends anything: it need not wait for
    // a read timeout to learn the server is full.
    no_more_reads_ = true;
    respond(error_response(503,
                           "too many connections (at most " +
                               std::to_string(st_.opts.max_connections) +
                               "): try again later",
                           true),
            false);
    return;
  }
  do_read();
}

void connection::do_read() {
  if (closed_ || reading_ || no_more_reads_ || upgrading_)
    return;
  if (pending_.size() >= st_.opts.max_pipelined) {
    watch_for_close();
    return;
  }
  reading_ = true;
  parser_.emplace();
  parser_->body_limit(st_.opts.body_limit);
  parser_->header_limit(st_.opts.header_limit);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, size_t) {
                             self->on_header(ec);
                           });
}

void connection::on_header(error_code ec) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (closed_)
    return;
  if (parser_->is_done()) {
    // No body (the common GET): skip a second read operation.
    reading_ = false;
    on_request();
    return;
  }
  auto read_body = [this] {
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->on_body(ec);
                      });
  };
  auto& msg = parser_->get();
  auto expect = msg.find(bhttp::field::expect);
  // Answer "Expect: 100-continue" only when nothing else is being written;
  // otherwise the client sends its body after its own short wait.
  if (expect != msg.end() && iequals(view(expect->value()), "100-continue") &&
      !writing_ && pending_.empty()) {
    writing_ = true;
    net::async_write(
        socket_, net::buffer(continue_line.data(), continue_line.size()),
        [this, self = shared_from_this(), read_body](error_code ec, size_t) {
          writing_ = false;
          if (ec || closed_) {
            close();
            return;
          }
          read_body();
        });
    return;
  }
  read_body();
}

void connection::on_body(error_code ec) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (closed_)
    return;
  reading_ = false;
  on_request();
}

void connection::on_read_error(error_code ec) {
  reading_ = false;
  if (closed_)
    return;
  if (lingering_) {
    close();
    return;
  }
  if (ec == bhttp::error::end_of_stream ||
      ec == bhttp::error::partial_message || ec == net::error::eof) {
    no_more_reads_ = true;
    // A client that closes while its requests are with their objects has
    // left (a half-close cannot be told apart from a close; nginx decides
    // the same): forget them rather than hold their state, and keep
    // shutdown waiting, until the objects answer.
    if ((pending_.empty() && !writing_) || awaiting_objects())
      close();
    return;
  }
  if (!is_parse_error(ec)) {
    // A socket error (reset, aborted): nothing can be sent any more.
    close();
    return;
  }
  no_more_reads_ = true;
  if (ec == bhttp::error::body_limit)
    respond(error_response(413, "request body larger than " +
                                    std::to_string(st_.opts.body_limit) +
                                    " bytes"),
            false);
  else if (ec == bhttp::error::header_limit)
    respond(error_response(431, "request head larger than " +
                                    std::to_string(st_.opts.header_limit) +
                                    " bytes"),
            false);
  else if (ec == bhttp::error::buffer_overflow)
    respond(error_response(431, "chunk header or trailer larger than " +
                                    std::to_string(st_.input_limit()) +
                                    " bytes"),
            false);
  else
    respond(error_response(400, "malformed HTTP request: " + ec.message()),
            false);
}

void connection::on_request() {
  last_progress_ = clock_type::now();
  auto& msg = parser_->get();
  auto ex = std::make_shared<detail::exchange>();
  ex->version = msg.version();
  ex->keep_alive = msg.keep_alive();
  ex->head = msg.method() == bhttp::verb::head;
  if (!ex->keep_alive)
    no_more_reads_ = true;
  auto finish_here = [&](fetch_response resp) {
    ex->response = std::move(resp);
    ex->ready = true;
    pending_.push_back(std::move(ex));
    do_write();
    do_read();
  };
  if (draining_) {
    ex->keep_alive = false;
    no_more_reads_ = true;
    finish_here(error_response(503, "server is shutting down", true));
    return;
  }
  auto target = view(msg.target());
  if (st_.metrics && is_metrics_target(target)) {
    finish_here(metrics_response(st_, view(msg.method_string())));
    return;
  }
  if (st_.registry != nullptr && is_admin_target(target)) {
    finish_here(admin_response(*st_.registry, st_.views,
                               view(msg.method_string()), target));
    return;
  }
  parsed_target parsed;
  unsigned status = 0;
  std::string error;
  if (!parse_target(target, parsed, status, error)) {
    finish_here(error_response(static_cast<uint16_t>(status), error));
    return;
  }
  auto i = st_.bindings.find(parsed.binding);
  if (i == st_.bindings.end()) {
    std::string text = "no binding named ";
    append_json_string(text, parsed.binding);
    finish_here(error_response(404, text));
    return;
  }
  ex->target = i->second.get();
  ex->ref = std::move(parsed.object);
  if (auto hint = msg.find(boost::beast::string_view{
          location_hint_header.data(), location_hint_header.size()});
      hint != msg.end()) {
    auto parsed_hint = parse_location_hint(view(hint->value()));
    if (!parsed_hint) {
      finish_here(error_response(parsed_hint.error()));
      return;
    }
    ex->ref.hint = *parsed_hint;
  }
  if (boost::beast::websocket::is_upgrade(msg)) {
    // Kept for the handshake; nothing is read after it until the object
    // answered (the socket may stop being HTTP).
    ex->upgrade.emplace(msg.base());
    upgrading_ = true;
  }
  auto& req = ex->request;
  req.method.assign(view(msg.method_string()));
  req.url.assign(target);
  req.headers.reserve(8);
  for (auto& field : msg)
    req.headers.emplace_back(std::string{view(field.name_string())},
                             std::string{view(field.value())});
  req.body = std::move(msg.body());
  ex->bytes = req.method.size() + req.url.size() + req.body.size();
  for (auto& [name, value] : req.headers)
    ex->bytes += name.size() + value.size();
  if (!admit(*ex)) {
    // Refused before anything is queued, so memory stays bounded however
    // fast clients send.
    finish_here(error_response(
        503, "Server is overloaded. Too many requests in flight.", false,
        true));
    return;
  }
  // The reply comes back on this thread (see worker::on_reply).
  auto mid = w_.next_request_id();
  if (auto err = ex->target->dispatch(*ex, w_.companion, mid)) {
    finish_here(error_response(err));
    return;
  }
  ex->conn = shared_from_this();
  ex->request_id = mid.request_id().integer_value();
  ex->deadline = last_progress_ + st_.opts.request_timeout;
  pending_.push_back(ex);
  w_.waiting.emplace(ex->request_id, ex);
  ++st_.in_flight;
  st_.in_flight_bytes += ex->bytes;
  do_read();
}

bool connection::admit(const detail::exchange& ex) const {
  if (st_.in_flight >= st_.opts.max_in_flight)
    return false;
  // One request alone always fits, however large its body.
  auto bytes = st_.in_flight_bytes.load();
  return bytes == 0 || bytes + ex.bytes <= st_.opts.max_in_flight_bytes;
}

void connection::forget(const detail::exchange& ex) {
  if (ex.request_id != 0 && w_.waiting.erase(ex.request_id) > 0)
    release(st_, ex);
}

void connection::on_ready(detail::exchange_ptr ex, fetch_response resp) {
  release(st_, *ex);
  if (closed_ || ex->ready)
    return;
  ex->response = std::move(resp);
  ex->ready = true;
  do_write();
}

void connection::expire_requests(clock_type::time_point now) {
  if (closed_)
    return;
  auto expired = false;
  for (auto& ex : pending_) {
    if (!ex->ready && ex->deadline <= now) {
      forget(*ex);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          st_.opts.request_timeout);
      ex->response = error_response(504,
                                    "Durable Object did not answer within " +
                                        std::to_string(ms.count()) + " ms",
                                    true);
      ex->ready = true;
      expired = true;
    }
  }
  if (expired)
    do_write();
}

void connection::respond(fetch_response resp, bool keep_alive) {
  auto ex = std::make_shared<detail::exchange>();
  ex->keep_alive = keep_alive;
  ex->response = std::move(resp);
  ex->ready = true;
  pending_.push_back(std::move(ex));
  do_write();
}

void connection::do_write() {
  if (writing_ || closed_ || pending_.empty() || !pending_.front()->ready)
    return;
  auto& ex = *pending_.front();
  if (ex.response.header(websocket_accept_header) != nullptr) {
    upgrade(ex);
    if (closed_)
      return; // Handed over to a WebSocket session.
  }
  if (ex.upgrade)
    upgrading_ = false; // Refused: HTTP goes on after this response.
  // Announce the close on the last response this connection will send.
  auto last = no_more_reads_ && pending_.size() == 1;
  build_response(ex, ex.keep_alive && !last);
  writing_ = true;
  last_progress_ = clock_type::now();
  bhttp::async_write(socket_, out_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->on_write(ec);
                     });
}

void connection::on_write(error_code ec) {
  writing_ = false;
  last_progress_ = clock_type::now();
  if (ec || closed_) {
    close();
    return;
  }
  pending_.pop_front();
  if (w_.stopping && (pending_.empty() || !pending_.front()->ready)) {
    close();
    return;
  }
  if (!out_.keep_alive()) {
    linger();
    return;
  }
  if (no_more_reads_ && pending_.empty()) {
    close();
    return;
  }
  do_write();
  do_read();
}

void connection::build_response(detail::exchange& ex, bool keep_alive) {
  auto& resp = ex.response;
  // Interim (1xx) statuses cannot be a final response.
  if (resp.status < 200 || resp.status > 599)
    resp = error_response(500, "object answered with invalid HTTP status " +
                                   std::to_string(resp.status));
  st_.http.count_response(resp.status);
  out_ = response_type{};
  out_.version(ex.version);
  out_.result(resp.status);
  for (auto& [name, value] : resp.headers)
    if (acceptable_header(name, value))
      out_.insert(beast::string_view{name.data(), name.size()},
                  beast::string_view{value.data(), value.size()});
  out_.keep_alive(keep_alive);
  if (resp.status == 204 || resp.status == 304) {
    // No body allowed, and no Content-Length either.
  } else if (ex.head) {
    out_.content_length(resp.body.size());
  } else {
    out_.body() = std::move(resp.body);
    out_.prepare_payload();
  }
}

void connection::upgrade(detail::exchange& ex) {
  auto& resp = ex.response;
  auto refuse = [&](uint16_t status, std::string text, bool overloaded) {
    resp = error_response(status, text, false, overloaded);
  };
  if (!ex.upgrade) {
    refuse(500,
           "Durable Object accepted a WebSocket for a request that is "
           "not a WebSocket upgrade",
           false);
    return;
  }
  if (*resp.header(websocket_accept_header) !=
      std::to_string(websocket_directory::instance().token())) {
    refuse(501,
           "the Durable Object runs on another node: WebSockets "
           "terminate only at objects of the node they connect to",
           false);
    return;
  }
  if (!ex.target->takes_websockets()) {
    refuse(500,
           "Durable Object accepted a WebSocket, but its interface "
           "lacks durable::websocket_signatures",
           false);
    return;
  }
  websocket_terms terms;
  header_list extra;
  for (auto& [name, value] : resp.headers) {
    if (strcasecmp(name.c_str(), "x-durable-websocket-tag") == 0)
      terms.tags.push_back(value);
    else if (strcasecmp(name.c_str(), "x-durable-websocket-auto-request") == 0)
      terms.auto_request = value;
    else if (strcasecmp(name.c_str(), "x-durable-websocket-auto-response") == 0)
      terms.auto_response = value;
    else if (acceptable_header(name, value))
      extra.emplace_back(name, value);
  }
  terms.attachment = std::move(resp.body);
  if (terms.attachment.size() > max_websocket_attachment) {
    refuse(500,
           "Durable Object accepted a WebSocket with an attachment of " +
               std::to_string(terms.attachment.size()) + " bytes (at most " +
               std::to_string(max_websocket_attachment) + ")",
           false);
    return;
  }
  if (terms.tags.size() > max_websocket_tags ||
      std::any_of(terms.tags.begin(), terms.tags.end(), [](auto& tag) {
        return tag.empty() || tag.size() > max_websocket_tag_size;
      })) {
    refuse(500,
           "Durable Object accepted a WebSocket with more than " +
               std::to_string(max_websocket_tags) +
               " tags, or an empty tag, or one over " +
               std::to_string(max_websocket_tag_size) + " bytes",
           false);
    return;
  }
  auto& dir = websocket_directory::instance();
  auto server_cap = st_.opts.max_websockets;
  if (server_cap != 0 && ++st_.websockets > server_cap) {
    --st_.websockets;
    refuse(503,
           "too many WebSockets on this server (at most " +
               std::to_string(server_cap) + ")",
           true);
    return;
  }
  if (server_cap == 0)
    ++st_.websockets;
  if (dir.count(ex.object) >= st_.opts.websockets_per_object) {
    --st_.websockets;
    refuse(503,
           "too many WebSockets on this Durable Object (at most " +
               std::to_string(st_.opts.websockets_per_object) + ")",
           true);
    return;
  }
  // The connection's count moves to the session, with the socket.
  auto id = dir.next_id();
  websocket_info info{id, terms.tags, terms.attachment};
  auto req = std::move(*ex.upgrade);
  auto object = ex.object;
  auto session = std::make_shared<websocket_session>(
      st_, w_, std::move(socket_), ex.target, object, id, std::move(terms));
  // Frees `ex` (and everything else pending: nothing, as nothing is read
  // after an upgrade request).
  counted_ = false;
  close();
  session->attach();
  if (dir.add(object, std::move(info), session,
              st_.opts.websockets_per_object)) {
    // Raced past the limit with another upgrade of the same object.
    session->kill();
    return;
  }
  session->start(std::move(req), std::move(extra));
}

void connection::linger() {
  lingering_ = true;
  last_progress_ = clock_type::now();
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec || reading_) {
    // A read in progress would share the buffer: just close.
    close();
    return;
  }
  buffer_.clear();
  discard();
}

void connection::discard() {
  socket_.async_read_some(buffer_.prepare(16 * 1024),
                          [self = shared_from_this()](error_code ec, size_t) {
                            if (ec || self->closed_) {
                              self->close();
                              return;
                            }
                            self->discard();
                          });
}

void connection::drain() {
  draining_ = true;
  no_more_reads_ = true;
  if (pending_.empty() && !writing_)
    close();
  else
    watch_for_close();
}

void connection::watch_for_close() {
  if (watching_ || closed_ || reading_ || lingering_ || !awaiting_objects())
    return;
  watching_ = true;
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](error_code ec) {
                       self->watching_ = false;
                       if (ec || self->closed_)
                         return;
                       // Readable: either more requests (read once there is
                       // room) or the end of the stream, which only a peek
                       // tells apart.
                       char scratch;
                       auto n = ::recv(self->socket_.native_handle(), &scratch,
                                       1, MSG_PEEK | MSG_DONTWAIT);
                       if (n == 0 || (n < 0 && errno != EAGAIN &&
                                      errno != EWOULDBLOCK && errno != EINTR))
                         self->close();
                     });
}

void connection::stop_now() {
  if (!writing_)
    close();
}

void connection::close() {
  if (closed_)
    return;
  closed_ = true;
  error_code ec;
  socket_.close(ec);
  // Nobody is left to answer: forget requests still with their objects
  // (their replies find nothing) instead of holding them until they answer.
  for (auto& ex : pending_)
    if (!ex->ready)
      forget(*ex);
  // Exchanges own the connection and it owns them: break the cycle.
  pending_.clear();
  if (registered_) {
    registered_ = false;
    w_.conns.erase(this);
  }
  if (counted_) {
    counted_ = false;
    --(refused_ ? st_.refusing : st_.connections);
  }
}

bool connection::awaiting_objects() const {
  return std::any_of(pending_.begin(), pending_.end(),
                     [](auto& ex) { return !ex->ready; });
}

bool connection::timed_out(clock_type::time_point now) const {
  if (closed_)
    return false;
  auto limit = st_.opts.read_timeout;
  if (lingering_)
    limit = std::min(limit, caf::timespan{std::chrono::seconds{1}});
  if (now - last_progress_ < limit)
    return false;
  // Waiting for an object is not the client's fault: the request timeout
  // answers that with 504.
  auto awaiting_object =
      !writing_ && !pending_.empty() && !pending_.front()->ready;
  return !awaiting_object;
}

} // namespace durable::http
