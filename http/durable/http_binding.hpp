#pragma once

// The type-erased link between the HTTP server and one namespace. Not for
// direct use: `durable::http::server::bind` makes these.

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/message_id.hpp>
#include <caf/typed_actor.hpp>

#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/object_namespace.hpp"
#include "durable/stub.hpp"
#include "durable/websocket.hpp"

namespace durable::http {

/// Whether the typed interface `Interface` handles `durable::fetch_signature`.
template <class Interface>
struct has_fetch : std::false_type {};

template <class... Sigs>
struct has_fetch<caf::typed_actor<Sigs...>>
    : std::disjunction<std::is_same<Sigs, fetch_signature>...> {};

/// Whether the typed interface `Interface` handles the WebSocket events
/// (`durable::websocket_signatures`).
template <class Interface>
struct has_websockets : std::false_type {};

template <class... Sigs>
struct has_websockets<caf::typed_actor<Sigs...>>
    : std::conjunction<
          std::disjunction<
              std::is_same<Sigs, caf::reacts_to<websocket_open>>...>,
          std::disjunction<
              std::is_same<Sigs, caf::reacts_to<websocket_message>>...>,
          std::disjunction<
              std::is_same<Sigs, caf::reacts_to<websocket_close>>...>,
          std::disjunction<
              std::is_same<Sigs, caf::reacts_to<websocket_error>>...>> {};

/// One event of a socket on its way to its object.
using websocket_event = std::variant<websocket_open, websocket_message,
                                     websocket_close, websocket_error>;

namespace detail {

/// One HTTP request on its way to an object and back (defined by the server).
class exchange;

using exchange_ptr = std::shared_ptr<exchange>;

/// How the request path names its object.
struct object_ref {
  /// True for `/<binding>/id/<hex>/...`, false for `/<binding>/<name>/...`.
  bool by_id = false;
  /// The 64 hex digits, or the percent-decoded name.
  std::string key;
  /// From the `X-Durable-Location-Hint` header: where to create the object
  /// if this request creates it.
  location_hint hint = location_hint::none;
};

/// The object the request is for.
const object_ref& target_of(const exchange& ex);

/// Moves the request out of `ex` (called once, when sending it).
fetch_request take_request(exchange& ex);

/// Records the ID of the object `ex` went to (for a WebSocket upgrade).
void set_object(exchange& ex, const object_id& id);

/// Sends requests to the objects of one namespace, from the server's I/O
/// threads.
class binding {
public:
  virtual ~binding();

  /// Resolves the object of `ex` and sends it the request as request `mid`
  /// of `sender`, which receives the reply. Returns why the object could not
  /// be resolved (a bad ID, say); then nothing was sent. Sets no CAF
  /// timeout: each one costs a wakeup of CAF's clock thread (twice, with its
  /// cancellation), so the server times requests out on its own threads.
  virtual caf::error dispatch(exchange& ex, const caf::strong_actor_ptr& sender,
                              caf::message_id mid) = 0;

  /// Whether the objects take WebSockets (`has_websockets`).
  virtual bool takes_websockets() const noexcept = 0;

  /// Sends `ev` to object `id` as request `mid` of `sender` (which gets an
  /// empty reply once the object handled it, or an error). Returns why
  /// nothing was sent.
  virtual caf::error send_event(const object_id& id, websocket_event ev,
                                const caf::strong_actor_ptr& sender,
                                caf::message_id mid) = 0;
};

/// The binding of a namespace whose objects handle `fetch_signature`.
template <class Interface>
class typed_binding final : public binding {
public:
  static_assert(has_fetch<Interface>::value,
                "durable::http: the object's interface must contain "
                "durable::fetch_signature");

  explicit typed_binding(object_namespace<Interface> ns) : ns_(std::move(ns)) {
    // nop
  }

  caf::error dispatch(exchange& ex, const caf::strong_actor_ptr& sender,
                      caf::message_id mid) override {
    auto& ref = target_of(ex);
    stub<Interface> target;
    if (ref.by_id) {
      auto id = ns_.id_from_string(ref.key);
      if (!id)
        return std::move(id.error());
      auto found = ns_.get(*id, {ref.hint});
      if (!found)
        return std::move(found.error());
      target = std::move(*found);
    } else {
      target = ns_.get_by_name(ref.key, {ref.hint});
    }
    set_object(ex, target.id());
    target.request_as(sender, mid, take_request(ex));
    return caf::none;
  }

  bool takes_websockets() const noexcept override {
    return has_websockets<Interface>::value;
  }

  caf::error send_event(const object_id& id, websocket_event ev,
                        const caf::strong_actor_ptr& sender,
                        caf::message_id mid) override {
    if constexpr (has_websockets<Interface>::value) {
      auto target = ns_.get(id);
      if (!target)
        return std::move(target.error());
      std::visit(
          [&](auto& x) { target->request_as(sender, mid, std::move(x)); }, ev);
      return caf::none;
    } else {
      return make_error(errc::unsupported_message,
                        "the object does not take WebSockets");
    }
  }

private:
  object_namespace<Interface> ns_;
};

} // namespace detail

} // namespace durable::http
