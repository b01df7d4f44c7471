#pragma once

// Where the WebSockets of this process's objects are found: the front door
// registers each socket it accepted for an object, and the object (any of
// its instances: sockets outlive evictions) lists them, sends to them and
// keeps a small attachment with each. Holds no reference to the object, so
// sockets never pin an object in memory (hibernation).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>

#include "durable/object_id.hpp"
#include "durable/websocket.hpp"

namespace durable {

/// The front door's side of one socket. Every member may be called from any
/// thread and returns at once.
class websocket_endpoint {
public:
  virtual ~websocket_endpoint();

  /// Queues a message for the client. A client that reads too slowly is
  /// closed with 1008 instead of buffering without limit.
  virtual void send(std::shared_ptr<const std::string> data, bool binary) = 0;

  /// Closes with `code` and `reason` once what is queued went out.
  virtual void close(uint16_t code, std::string reason) = 0;

  /// Sets (or, with an empty `request`, clears) the message the front door
  /// answers itself.
  virtual void set_auto_response(std::string request, std::string response) = 0;
};

/// What an object sees of one of its sockets.
struct websocket_info {
  websocket_id id = 0;
  std::vector<std::string> tags;
  std::string attachment;

  bool has_tag(std::string_view tag) const;
};

/// The WebSockets of all objects of this process (one per process; objects
/// reach theirs through `object::websockets()`).
class websocket_directory {
public:
  static websocket_directory& instance();

  /// Names this process in accepting responses, so that a front door can
  /// tell that the object accepting is on another node.
  uint64_t token() const noexcept { return token_; }

  // -- front door -------------------------------------------------------------

  /// A fresh socket ID.
  websocket_id next_id() noexcept;

  /// Registers socket `info.id` of `object`; fails (nothing registered) if
  /// the object has `max_per_object` sockets already.
  caf::error add(const object_id& object, websocket_info info,
                 std::shared_ptr<websocket_endpoint> ep, size_t max_per_object);

  /// Unregisters a socket; false if it was not registered.
  bool remove(websocket_id id);

  /// Sockets of `object`.
  size_t count(const object_id& object) const;

  /// Sockets of all objects.
  size_t total() const;

  // -- object side ------------------------------------------------------------

  /// Sockets of `object`, all or those tagged `tag`, in the order they
  /// opened.
  std::vector<websocket_info> list(const object_id& object,
                                   std::string_view tag = {}) const;

  /// Endpoints of the sockets of `object` (tagged `tag` unless empty), but
  /// `except`.
  std::vector<std::shared_ptr<websocket_endpoint>>
  endpoints(const object_id& object, std::string_view tag = {},
            websocket_id except = 0) const;

  /// The endpoint of socket `id` if it belongs to `object`.
  std::shared_ptr<websocket_endpoint> endpoint(const object_id& object,
                                               websocket_id id) const;

  /// Replaces the attachment of socket `id` of `object`.
  caf::error set_attachment(const object_id& object, websocket_id id,
                            std::string bytes);

private:
  websocket_directory();

  struct record {
    websocket_info info;
    std::shared_ptr<websocket_endpoint> ep;
  };

  const record* find(const object_id& object, websocket_id id) const;

  uint64_t token_;
  mutable std::mutex mtx_;
  uint64_t next_id_ = 0;
  std::unordered_map<object_id, std::vector<record>> objects_;
  std::unordered_map<websocket_id, object_id> owners_;
};

} // namespace durable
