// The CAF side of an exchange: requests leave an I/O thread in the name of
// its worker's companion actor, and replies come back through the
// companion's enqueue handler, posted to the same thread.

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_companion.hpp>

#include "connection.hpp"
#include "routing.hpp"
#include "websocket_session.hpp"

namespace durable::http {

// -- worker -------------------------------------------------------------------

namespace {

caf::actor_companion* companion_of(const caf::strong_actor_ptr& ptr) {
  return static_cast<caf::actor_companion*>(
      caf::actor_cast<caf::abstract_actor*>(ptr));
}

} // namespace

void worker::connect(caf::actor_system& sys) {
  companion =
      caf::actor_cast<caf::strong_actor_ptr>(sys.spawn<caf::actor_companion>());
  // Runs on the sender's thread (an object's worker or a commit writer).
  companion_of(companion)->on_enqueue([this](caf::mailbox_element_ptr ptr) {
    net::post(ioc, [this, ptr{std::move(ptr)}]() mutable {
      on_reply(std::move(ptr));
    });
  });
}

void worker::disconnect() {
  // Under the companion's lock: no handler runs after this returns. (CAF
  // 0.17.6 declares actor_companion::disconnect but does not define it.)
  if (companion)
    companion_of(companion)->on_enqueue(nullptr);
}

caf::message_id worker::next_request_id() {
  return companion_of(companion)->new_request_id(caf::message_priority::normal);
}

void worker::track(std::weak_ptr<websocket_session> session) {
  if (all_sockets.size() >= 2 * sockets.size() + 64)
    all_sockets.erase(std::remove_if(all_sockets.begin(), all_sockets.end(),
                                     [](auto& x) { return x.expired(); }),
                      all_sockets.end());
  all_sockets.push_back(std::move(session));
}

void worker::on_reply(caf::mailbox_element_ptr reply) {
  if (!reply->mid.is_response())
    return;
  auto i = waiting.find(reply->mid.request_id().integer_value());
  if (i == waiting.end()) {
    auto j = ws_waiting.find(reply->mid.request_id().integer_value());
    if (j == ws_waiting.end())
      return; // Timed out before: the client got 504.
    auto session = std::move(j->second);
    ws_waiting.erase(j);
    auto msg = reply->move_content_to_message();
    session->on_ack(msg);
    return;
  }
  auto ex = std::move(i->second);
  waiting.erase(i);
  auto msg = reply->move_content_to_message();
  fetch_response resp;
  if (msg.match_elements<fetch_response>())
    resp = std::move(msg.get_mutable_as<fetch_response>(0));
  else if (msg.match_elements<caf::error>())
    resp = error_response(msg.get_as<caf::error>(0));
  else
    resp = error_response(500, "Durable Object answered fetch with a "
                               "message that is not a response");
  auto conn = ex->conn.get();
  conn->on_ready(std::move(ex), std::move(resp));
}

namespace detail {

// -- binding ------------------------------------------------------------------

binding::~binding() {
  // nop
}

const object_ref& target_of(const exchange& ex) {
  return ex.ref;
}

fetch_request take_request(exchange& ex) {
  return std::move(ex.request);
}

void set_object(exchange& ex, const object_id& id) {
  ex.object = id;
}

} // namespace detail

} // namespace durable::http
