#include "websocket_session.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <caf/error.hpp>
#include <caf/message.hpp>

namespace durable::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;

namespace {

websocket_directory& dir() {
  return websocket_directory::instance();
}

/// Shutdown closes within this, whatever the close timeout says: `stop`
/// waits at most a second for its event loops.
constexpr auto shutdown_grace = std::chrono::milliseconds{500};

} // namespace

websocket_session::websocket_session(server_state& st, worker& w,
                                     socket_type socket,
                                     detail::binding* target, object_id object,
                                     websocket_id id, websocket_terms terms)
    : st_(st),
      w_(w),
      loop_(w.loop),
      send_limit_(st.opts.websocket_send_queue),
      io_(std::make_unique<io_objects>(std::move(socket), w.ioc)),
      target_(target),
      object_(std::move(object)),
      id_(id),
      terms_(std::move(terms)) {
  // nop
}

websocket_session::~websocket_session() {
  // nop
}

void websocket_session::attach() {
  w_.sockets.emplace(this, weak_from_this());
  w_.track(weak_from_this());
}

void websocket_session::release_io() {
  io_.reset();
}

void websocket_session::start(request_type req, header_list headers) {
  websocket::stream_base::timeout limits;
  limits.handshake_timeout =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          st_.opts.read_timeout);
  // No idle limit: an open socket without traffic is what hibernation is.
  limits.idle_timeout = websocket::stream_base::none();
  limits.keep_alive_pings = false;
  io_->ws.set_option(limits);
  io_->ws.read_message_max(st_.opts.websocket_message_limit);
  // The object's own headers (a chosen Sec-WebSocket-Protocol, a cookie).
  io_->ws.set_option(websocket::stream_base::decorator(
      [headers = std::move(headers)](websocket::response_type& resp) {
        for (auto& [name, value] : headers)
          resp.set(beast::string_view{name.data(), name.size()},
                   beast::string_view{value.data(), value.size()});
      }));
  req_.emplace(std::move(req));
  io_->ws.async_accept(*req_, [self = shared_from_this()](error_code ec) {
    self->req_.reset();
    if (ec) {
      // The object never saw it open: it leaves without an event.
      dir().remove(self->id_);
      self->end(1006, "handshake failed: " + ec.message(), false);
      return;
    }
    self->open_ = true;
    self->push_event(websocket_open{self->id_});
    self->do_write();
  });
}

// -- reading ------------------------------------------------------------------

void websocket_session::do_read() {
  // The next message is read once the object handled the last event: one
  // message per socket at the object at a time, in order, and a client
  // that sends faster than its object handles waits in TCP.
  if (!open_ || reading_ || ended_ || closing_ || event_in_flight_ ||
      !events_.empty())
    return;
  reading_ = true;
  io_->ws.async_read(in_, [self = shared_from_this()](error_code ec, size_t) {
    self->on_read(ec);
  });
}

void websocket_session::on_read(error_code ec) {
  reading_ = false;
  if (ended_)
    return;
  if (ec == websocket::error::closed) {
    auto& why = io_->ws.reason();
    end(why.code, std::string{why.reason.data(), why.reason.size()}, true);
    return;
  }
  if (ec == websocket::error::message_too_big) {
    // Beast sent the close frame (1009) already.
    auto text = "message larger than " +
                std::to_string(st_.opts.websocket_message_limit) + " bytes";
    if (dir().remove(id_)) {
      push_event(websocket_error{id_, text});
      push_event(
          websocket_close{id_, websocket::close_code::too_big, text, false});
    }
    end(websocket::close_code::too_big, text, false);
    return;
  }
  if (ec) {
    if (ec.category() ==
            websocket::make_error_code(websocket::error::closed).category() &&
        dir().remove(id_)) {
      // A protocol violation (Beast answered it with a close frame).
      push_event(websocket_error{id_, ec.message()});
      push_event(websocket_close{id_, websocket::close_code::protocol_error,
                                 ec.message(), false});
    }
    end(websocket::close_code::abnormal, "connection lost: " + ec.message(),
        false);
    return;
  }
  auto binary = io_->ws.got_binary();
  auto data = beast::buffers_to_string(in_.data());
  in_.consume(in_.size());
  if (!binary && !terms_.auto_request.empty() && data == terms_.auto_request) {
    // Answered here: the object may stay evicted.
    auto reply = std::make_shared<const std::string>(terms_.auto_response);
    auto n = reply->size();
    if (queued_.fetch_add(n) + n > st_.opts.websocket_send_queue) {
      queued_ -= n;
      overflow();
      return;
    }
    push_frame(frame{std::move(reply), false});
    do_read();
    return;
  }
  push_event(websocket_message{id_, std::move(data), binary});
}

// -- events to the object -----------------------------------------------------

void websocket_session::push_event(websocket_event ev) {
  events_.push_back(std::move(ev));
  next_event();
}

void websocket_session::next_event() {
  while (!event_in_flight_ && !events_.empty() && w_.companion) {
    auto ev = std::move(events_.front());
    events_.pop_front();
    auto mid = w_.next_request_id();
    // Through the namespace like any message to the ID: an evicted object
    // is created again.
    if (target_->send_event(object_, std::move(ev), w_.companion, mid))
      continue; // Not sent (the ID no longer resolves): nothing to await.
    event_in_flight_ = true;
    w_.ws_waiting.emplace(mid.request_id().integer_value(), shared_from_this());
  }
}

void websocket_session::on_ack(caf::message&) {
  // An error (the handler threw, the object was reset or overloaded) ends
  // the event's turn too; the socket goes on.
  event_in_flight_ = false;
  next_event();
  do_read();
}

// -- writing ------------------------------------------------------------------

void websocket_session::send(std::shared_ptr<const std::string> data,
                             bool binary) {
  if (overflowing_)
    return;
  auto n = data->size();
  if (queued_.fetch_add(n) + n > send_limit_) {
    queued_ -= n;
    if (!overflowing_.exchange(true))
      loop_->post([self = shared_from_this()] { self->overflow(); });
    return;
  }
  loop_->post([self = shared_from_this(),
               f = frame{std::move(data), binary}]() mutable {
    self->push_frame(std::move(f));
  });
}

void websocket_session::push_frame(frame f) {
  if (ended_ || closing_ || close_pending_) {
    queued_ -= f.data->size();
    return;
  }
  st_.websocket_queued += f.data->size();
  out_.push_back(std::move(f));
  do_write();
}

void websocket_session::do_write() {
  if (!open_ || writing_ || ended_ || out_.empty())
    return;
  writing_ = true;
  auto& f = out_.front();
  io_->ws.binary(f.binary);
  io_->ws.async_write(net::buffer(*f.data),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->on_write(ec);
                      });
}

void websocket_session::on_write(error_code ec) {
  writing_ = false;
  if (!out_.empty()) {
    auto n = out_.front().data->size();
    queued_ -= n;
    st_.websocket_queued -= n;
    out_.pop_front();
  }
  if (ended_) {
    drop_queue();
    return;
  }
  if (ec) {
    end(websocket::close_code::abnormal, "connection lost: " + ec.message(),
        false);
    return;
  }
  if (close_pending_ && out_.empty()) {
    close_pending_ = false;
    begin_close(close_code_, std::move(close_reason_),
                st_.opts.websocket_close_timeout);
    return;
  }
  do_write();
}

void websocket_session::drop_queue() {
  // The frame being written stays until its write completes.
  auto keep = writing_ && !out_.empty() ? 1u : 0u;
  while (out_.size() > keep) {
    auto n = out_.back().data->size();
    queued_ -= n;
    st_.websocket_queued -= n;
    out_.pop_back();
  }
}

void websocket_session::overflow() {
  if (ended_ || closing_)
    return;
  drop_queue();
  close_pending_ = false;
  auto text = "send queue over " +
              std::to_string(st_.opts.websocket_send_queue) +
              " bytes: the client reads too slowly";
  if (dir().remove(id_))
    push_event(
        websocket_close{id_, websocket::close_code::policy_error, text, false});
  begin_close(websocket::close_code::policy_error, std::move(text),
              st_.opts.websocket_close_timeout);
}

// -- closing ------------------------------------------------------------------

void websocket_session::close(uint16_t code, std::string reason) {
  loop_->post(
      [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
        if (self->ended_ || self->closing_)
          return;
        if (self->writing_ || !self->out_.empty()) {
          // After what the object sent before.
          self->close_pending_ = true;
          self->close_code_ = code;
          self->close_reason_ = std::move(reason);
          return;
        }
        self->begin_close(code, std::move(reason),
                          self->st_.opts.websocket_close_timeout);
      });
}

void websocket_session::set_auto_response(std::string request,
                                          std::string response) {
  loop_->post([self = shared_from_this(), request = std::move(request),
               response = std::move(response)]() mutable {
    self->terms_.auto_request = std::move(request);
    self->terms_.auto_response = std::move(response);
  });
}

void websocket_session::go_away() {
  if (ended_)
    return;
  // The deployment is going down too: no event for the object.
  dir().remove(id_);
  if (!open_) {
    kill();
    return;
  }
  drop_queue();
  close_pending_ = false;
  begin_close(websocket::close_code::going_away, "server is shutting down",
              std::min<caf::timespan>(st_.opts.websocket_close_timeout,
                                      shutdown_grace));
}

void websocket_session::begin_close(uint16_t code, std::string reason,
                                    caf::timespan grace) {
  if (ended_ || closing_)
    return;
  closing_ = true;
  // A client that never reads never lets the close frame out: the TCP
  // connection ends after `grace` regardless.
  io_->close_timer.expires_after(grace);
  io_->close_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec)
      self->kill();
  });
  websocket::close_reason why;
  why.code = code;
  why.reason = reason;
  io_->ws.async_close(why, [self = shared_from_this(), code](error_code) {
    self->end(code, "closed by the server", true);
  });
}

void websocket_session::kill() {
  if (ended_)
    return;
  error_code ignored;
  io_->ws.next_layer().close(ignored);
  end(websocket::close_code::abnormal, "connection closed", false);
}

void websocket_session::end(uint16_t code, std::string reason, bool clean) {
  if (ended_)
    return;
  ended_ = true;
  io_->close_timer.cancel();
  // Unless the object closed it (or the front door told it already).
  if (dir().remove(id_))
    push_event(websocket_close{id_, code, std::move(reason), clean});
  drop_queue();
  error_code ignored;
  io_->ws.next_layer().close(ignored);
  if (w_.sockets.erase(this) > 0) {
    --st_.websockets;
    --st_.connections;
  }
}

} // namespace durable::http
