#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/duration.hpp>
#include <caf/expected.hpp>
#include <caf/local_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/mixin/requester.hpp>
#include <caf/response_handle.hpp>
#include <caf/response_type.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include "durable/actor_thread.hpp"
#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/namespace_core.hpp"
#include "durable/object_id.hpp"

namespace durable {

namespace detail {

/// Maps a list of reply types to what a blocking call returns.
template <class Outputs>
struct call_result;

template <>
struct call_result<caf::detail::type_list<>> {
  using type = caf::expected<void>;
  template <class F>
  static void receive(F& handle, type& result) {
    handle.receive([&] { result = caf::unit; },
                   [&](caf::error& err) { result = std::move(err); });
  }
};

template <class T>
struct call_result<caf::detail::type_list<T>> {
  using type = caf::expected<T>;
  template <class F>
  static void receive(F& handle, type& result) {
    handle.receive([&](T& x) { result = std::move(x); },
                   [&](caf::error& err) { result = std::move(err); });
  }
};

template <class T0, class T1, class... Ts>
struct call_result<caf::detail::type_list<T0, T1, Ts...>> {
  using type = caf::expected<std::tuple<T0, T1, Ts...>>;
  template <class F>
  static void receive(F& handle, type& result) {
    handle.receive(
        [&](T0& x0, T1& x1, Ts&... xs) {
          result =
              std::make_tuple(std::move(x0), std::move(x1), std::move(xs)...);
        },
        [&](caf::error& err) { result = std::move(err); });
  }
};

/// The reply types of a request `Ts...` to an interface with `Signatures`;
/// fails to compile, with a readable message, for a message outside it.
template <class Signatures, class... Ts>
struct checked_output {
  using response = caf::response_type_unbox<
      Signatures, caf::detail::type_list<caf::detail::implicit_conversions_t<
                      typename std::decay<Ts>::type>...>>;
  static_assert(sizeof...(Ts) > 0, "no message to send");
  static_assert(response::valid,
                "the object's interface does not accept this message");
  template <bool Valid, class R>
  struct get {
    using type = typename R::type;
  };
  template <class R>
  struct get<false, R> {
    using type = caf::detail::type_list<>;
  };
  using type = typename get<response::valid, response>::type;
};

/// Returns the live namespace with unique key `key` in this process, if any.
std::shared_ptr<namespace_core> find_namespace(const std::string& key);

/// Routes through `core`, or answers `unavailable` for an empty stub.
void route(const std::shared_ptr<namespace_core>& core, const object_id& id,
           location_hint hint, caf::strong_actor_ptr sender,
           caf::message_id mid, caf::message msg, caf::execution_unit* ctx);

} // namespace detail

template <class Interface>
class stub;

/// A handle to one durable object: its ID plus its namespace. Cheap to copy,
/// returned at once (creating a stub contacts nobody), usable from any actor,
/// from non-actor code, and inside messages. Messages are checked at compile
/// time against the object's typed interface; replies come back as for a
/// direct CAF request. The object is spawned by its first message.
template <class... Sigs>
class stub<caf::typed_actor<Sigs...>> {
public:
  // -- member types -----------------------------------------------------------

  using interface_type = caf::typed_actor<Sigs...>;

  using signatures = caf::detail::type_list<Sigs...>;

  /// The reply types for a request made of `Ts...`.
  template <class... Ts>
  using output_t = typename detail::checked_output<signatures, Ts...>::type;

  // -- constructors -----------------------------------------------------------

  stub() = default;

  stub(object_id id, std::shared_ptr<namespace_core> ns,
       location_hint hint = location_hint::none)
      : id_(std::move(id)), ns_(std::move(ns)), hint_(hint) {
    // nop
  }

  // -- properties -------------------------------------------------------------

  const object_id& id() const noexcept { return id_; }

  /// Returns whether this stub refers to a namespace.
  explicit operator bool() const noexcept { return static_cast<bool>(ns_); }

  // -- messaging --------------------------------------------------------------

  /// Sends `xs...` as a request from `self` (an event-based or blocking actor)
  /// and returns CAF's response handle: `.then(...)`, `.await(...)` or, for
  /// blocking actors, `.receive(...)`.
  template <class Self, class... Ts>
  caf::response_handle<Self, output_t<Ts...>,
                       caf::mixin::is_blocking_requester<Self>::value>
  request(Self* self, const caf::duration& timeout, Ts&&... xs) const {
    auto mid = self->new_request_id(caf::message_priority::normal);
    dispatch(self, mid, caf::make_message(std::forward<Ts>(xs)...));
    self->request_response_timeout(timeout, mid);
    return {mid.response_id(), self};
  }

  template <class Self, class Rep, class Period, class... Ts>
  caf::response_handle<Self, output_t<Ts...>,
                       caf::mixin::is_blocking_requester<Self>::value>
  request(Self* self, std::chrono::duration<Rep, Period> timeout,
          Ts&&... xs) const {
    return request(self, caf::duration{timeout}, std::forward<Ts>(xs)...);
  }

  /// Sends `xs...` from `self` without expecting a reply.
  template <class Self, class... Ts>
  void send(Self* self, Ts&&... xs) const {
    static_assert(sizeof(output_t<Ts...>) > 0, "unreachable");
    dispatch(self, caf::make_message_id(),
             caf::make_message(std::forward<Ts>(xs)...));
  }

  /// Sends `xs...` as request `mid` on behalf of `sender`, from any thread:
  /// the reply (or an error) reaches `sender` with `mid.response_id()`. For
  /// bridges between CAF and other event loops (the HTTP front door's
  /// companions); actors use `request`.
  template <class... Ts>
  void request_as(caf::strong_actor_ptr sender, caf::message_id mid,
                  Ts&&... xs) const {
    static_assert(sizeof(output_t<Ts...>) > 0, "unreachable");
    detail::route(ns_, id_, hint_, std::move(sender), mid,
                  caf::make_message(std::forward<Ts>(xs)...), nullptr);
  }

  /// Sends `xs...` without a sender and without expecting a reply. Inside a
  /// durable object's handler the message passes that object's output gate.
  template <class... Ts>
  void anon_send(Ts&&... xs) const {
    static_assert(sizeof(output_t<Ts...>) > 0, "unreachable");
    auto msg = caf::make_message(std::forward<Ts>(xs)...);
    if (auto* rt = current_object()) {
      rt->send_gated(
          [ns = ns_, id = id_, hint = hint_, msg = std::move(msg)]() mutable {
            detail::route(ns, id, hint, nullptr, caf::make_message_id(),
                          std::move(msg), nullptr);
          });
      return;
    }
    detail::route(ns_, id_, hint_, nullptr, caf::make_message_id(),
                  std::move(msg), nullptr);
  }

  /// Blocks the calling thread until the object replies. For non-actor code
  /// only: on an actor's thread it fails at once with
  /// `errc::invalid_argument` (blocking there stalls CAF's scheduler and, with
  /// one worker, deadlocks it); inside an actor, use `request`.
  template <class... Ts>
  typename detail::call_result<output_t<Ts...>>::type
  call(const caf::duration& timeout, Ts&&... xs) const {
    using result_type = typename detail::call_result<output_t<Ts...>>::type;
    if (!ns_)
      return make_error(errc::unavailable, "empty stub");
    if (on_actor_thread())
      return make_error(errc::invalid_argument,
                        "stub::call blocks its thread and cannot run on an "
                        "actor's thread (it would stall the scheduler): use "
                        "request(self, ...) inside actors");
    caf::scoped_actor self{ns_->system()};
    result_type result{caf::error{}};
    auto handle = request(self.ptr(), timeout, std::forward<Ts>(xs)...);
    detail::call_result<output_t<Ts...>>::receive(handle, result);
    return result;
  }

  template <class Rep, class Period, class... Ts>
  typename detail::call_result<output_t<Ts...>>::type
  call(std::chrono::duration<Rep, Period> timeout, Ts&&... xs) const {
    return call(caf::duration{timeout}, std::forward<Ts>(xs)...);
  }

  /// Sends an HTTP-style request to the object's `fetch` handler (the
  /// interface must contain `fetch_signature`).
  template <class Self, class Timeout>
  auto fetch(Self* self, Timeout timeout, fetch_request req) const {
    return request(self, timeout, std::move(req));
  }

  /// Blocking `fetch` for non-actor code.
  template <class Timeout>
  caf::expected<fetch_response> fetch(Timeout timeout,
                                      fetch_request req) const {
    return call(timeout, std::move(req));
  }

  // -- comparison and serialization -------------------------------------------

  friend bool operator==(const stub& x, const stub& y) noexcept {
    return x.ns_ == y.ns_ && x.id_ == y.id_;
  }

  friend bool operator!=(const stub& x, const stub& y) noexcept {
    return !(x == y);
  }

  /// Serializes the ID and the namespace key; loading finds the namespace of
  /// that key in this process (a stub of an unknown namespace stays empty).
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, stub& x) {
    std::string key = x.ns_ ? x.ns_->key() : std::string{};
    auto hint = static_cast<uint8_t>(x.hint_);
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x.ns_ = detail::find_namespace(key);
      x.hint_ = static_cast<location_hint>(hint);
      // A stub from the wire is only as good as its ID's MAC.
      if (x.ns_ && !x.ns_->ids().verify(x.id_)) {
        x.ns_ = nullptr;
        return make_error(errc::wrong_namespace);
      }
      return caf::none;
    });
    return f(caf::meta::type_name("durable::stub"), x.id_, key, hint, load);
  }

private:
  /// Routes `msg`; a durable object's output first passes its output gate.
  template <class Self>
  void dispatch(Self* self, caf::message_id mid, caf::message msg) const {
    if constexpr (std::is_base_of<object_runtime, Self>::value) {
      self->send_gated([ns = ns_, id = id_, hint = hint_, src = self->ctrl(),
                        mid, msg = std::move(msg)]() mutable {
        detail::route(ns, id, hint, std::move(src), mid, std::move(msg),
                      nullptr);
      });
    } else {
      detail::route(ns_, id_, hint_, self->ctrl(), mid, std::move(msg),
                    self->context());
    }
  }

  object_id id_;
  std::shared_ptr<namespace_core> ns_;
  location_hint hint_ = location_hint::none;
};

} // namespace durable
