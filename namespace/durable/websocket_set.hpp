#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "durable/object_id.hpp"
#include "durable/object_runtime.hpp"
#include "durable/websocket_directory.hpp"

namespace durable {

/// The WebSockets of one object, as its handlers see them
/// (`object::websockets()`, Cloudflare's `ctx.getWebSockets()` and
/// friends). Sockets stay open while the object is evicted; a new instance
/// finds them, with their tags and attachments, here.
///
/// Everything a client can see (messages, closes) passes the object's
/// output gate: it leaves once the writes made before it in the turn are
/// durable, and never if their commit fails. Use it only inside the
/// object's own handlers.
class websocket_set {
public:
  websocket_set(object_id self, object_runtime& rt)
      : self_(std::move(self)), rt_(&rt) {
    // nop
  }

  /// The open sockets, all or those tagged `tag`, in the order they opened.
  std::vector<websocket_info> list(std::string_view tag = {}) const;

  /// Number of open sockets.
  size_t size() const;

  /// The socket `id`, if it is one of this object's.
  std::optional<websocket_info> find(websocket_id id) const;

  /// Sends a text message to socket `id`; false if it is not one of ours.
  bool send(websocket_id id, std::string text);

  /// Sends a binary message to socket `id`; false if it is not one of ours.
  bool send_binary(websocket_id id, std::string bytes);

  /// Sends `text` to every socket (tagged `tag` unless empty) but `except`;
  /// returns to how many. The text is shared, not copied per socket.
  size_t broadcast(std::string text, std::string_view tag = {},
                   websocket_id except = 0);

  /// Closes socket `id` with `code` (1000 or 3000-4999) and `reason` (at
  /// most 123 bytes) once the turn's writes are durable; the object gets no
  /// `websocket_close` for it. Fails for a bad code or reason or a socket
  /// that is not ours.
  caf::error close(websocket_id id, uint16_t code = 1000,
                   std::string reason = {});

  /// Keeps `bytes` (at most `max_websocket_attachment`) with socket `id`
  /// (Cloudflare's serializeAttachment); readable through `list` and
  /// `find` by any later instance while the socket is open.
  caf::error set_attachment(websocket_id id, std::string bytes);

  /// Makes the front door answer the text `request` with `response` on all
  /// open sockets without waking the object (empty `request`: stop). New
  /// sockets take theirs from `websocket_accept`.
  void set_auto_response(std::string request, std::string response);

private:
  void send_to(std::vector<std::shared_ptr<websocket_endpoint>> eps,
               std::shared_ptr<const std::string> data, bool binary);

  object_id self_;
  object_runtime* rt_;
};

} // namespace durable
