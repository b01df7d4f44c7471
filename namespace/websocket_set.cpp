#include "durable/websocket_set.hpp"

#include "durable/errc.hpp"

namespace durable {

namespace {

websocket_directory& dir() {
  return websocket_directory::instance();
}

caf::error not_ours(websocket_id id) {
  return make_error(errc::invalid_argument, "no open WebSocket " +
                                                std::to_string(id) +
                                                " on this Durable Object");
}

} // namespace

std::vector<websocket_info> websocket_set::list(std::string_view tag) const {
  return dir().list(self_, tag);
}

size_t websocket_set::size() const {
  return dir().count(self_);
}

std::optional<websocket_info> websocket_set::find(websocket_id id) const {
  for (auto& info : dir().list(self_))
    if (info.id == id)
      return info;
  return std::nullopt;
}

void websocket_set::send_to(
    std::vector<std::shared_ptr<websocket_endpoint>> eps,
    std::shared_ptr<const std::string> data, bool binary) {
  if (eps.empty())
    return;
  // One gated function per call, not per socket: a broadcast to a thousand
  // sockets holds one closure behind a commit.
  rt_->send_gated([eps = std::move(eps), data = std::move(data), binary] {
    for (auto& ep : eps)
      ep->send(data, binary);
  });
}

bool websocket_set::send(websocket_id id, std::string text) {
  auto ep = dir().endpoint(self_, id);
  if (!ep)
    return false;
  send_to({std::move(ep)}, std::make_shared<const std::string>(std::move(text)),
          false);
  return true;
}

bool websocket_set::send_binary(websocket_id id, std::string bytes) {
  auto ep = dir().endpoint(self_, id);
  if (!ep)
    return false;
  send_to({std::move(ep)},
          std::make_shared<const std::string>(std::move(bytes)), true);
  return true;
}

size_t websocket_set::broadcast(std::string text, std::string_view tag,
                                websocket_id except) {
  auto eps = dir().endpoints(self_, tag, except);
  auto n = eps.size();
  send_to(std::move(eps), std::make_shared<const std::string>(std::move(text)),
          false);
  return n;
}

caf::error websocket_set::close(websocket_id id, uint16_t code,
                                std::string reason) {
  // Codes an application may send (RFC 6455 7.4): 1000, or 3000-4999.
  if (code != 1000 && (code < 3000 || code > 4999))
    return make_error(errc::invalid_argument, "invalid WebSocket close code " +
                                                  std::to_string(code) +
                                                  ": use 1000 or 3000-4999");
  if (reason.size() > 123)
    return make_error(errc::invalid_argument,
                      "WebSocket close reason longer than 123 bytes");
  auto ep = dir().endpoint(self_, id);
  if (!ep)
    return not_ours(id);
  // Leaves the directory with the close frame: if the turn's commit fails,
  // the socket stays open and listed, as if close was never called.
  rt_->send_gated(
      [ep = std::move(ep), id, code, reason = std::move(reason)]() mutable {
        websocket_directory::instance().remove(id);
        ep->close(code, std::move(reason));
      });
  return caf::none;
}

caf::error websocket_set::set_attachment(websocket_id id, std::string bytes) {
  return dir().set_attachment(self_, id, std::move(bytes));
}

void websocket_set::set_auto_response(std::string request,
                                      std::string response) {
  for (auto& ep : dir().endpoints(self_))
    ep->set_auto_response(request, response);
}

} // namespace durable
