#pragma once

// A chat room: one object per room holds the room's WebSockets and its
// history. Every message is stored (the last `history_size` are kept), then
// sent to every member once that write is durable; a member who joins gets
// the history first. The room's page is served by the room itself.

#include <cstdint>
#include <cstdio>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/object.hpp"
#include "durable/websocket.hpp"

namespace example {

using room_api = caf::typed_actor<durable::fetch_signature>::extend_with<
    durable::websocket_signatures>;

/// The HTML and script of the room's page (chat.html, embedded at build
/// time).
extern const char* const chat_page;

class chat_room : public durable::object<room_api> {
public:
  /// Messages replayed to a member who joins.
  static constexpr int64_t history_size = 50;
  static constexpr size_t max_name = 32;
  static constexpr size_t max_text = 1000;

  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](const durable::fetch_request& req) { return serve(req); },
        [this](const durable::websocket_open& x) { replay(x.socket); },
        [this](const durable::websocket_message& x) { post(x); },
        [](const durable::websocket_close&) {},
        [](const durable::websocket_error&) {},
    };
  }

private:
  static void check(const caf::error& err) {
    if (err)
      throw std::runtime_error(durable::message_of(err));
  }

  /// `GET /chat/<room>` is the page; `GET /chat/<room>/ws` with an upgrade
  /// joins the room.
  durable::fetch_response serve(const durable::fetch_request& req) {
    if (durable::is_websocket_upgrade(req))
      return durable::accept_websocket();
    if (req.method != "GET")
      return durable::make_text_response(405, "GET only\n");
    return durable::make_response(200, "text/html; charset=utf-8", chat_page);
  }

  /// Sends the stored history to a member who just joined.
  void replay(durable::websocket_id socket) {
    durable::list_options opts;
    opts.prefix = "m/";
    auto stored = storage().list(opts);
    if (!stored)
      throw std::runtime_error(durable::message_of(stored.error()));
    for (auto& [key, value] : *stored) {
      auto line = nlohmann::json::parse(value, nullptr, false);
      if (line.is_discarded())
        continue;
      line["type"] = "message";
      line["history"] = true;
      websockets().send(socket, line.dump());
    }
  }

  /// Stores a member's message, then sends it to everyone.
  void post(const durable::websocket_message& x) {
    auto in = nlohmann::json::parse(x.data, nullptr, false);
    std::string name = "guest";
    std::string text;
    if (!x.binary && in.is_object()) {
      if (auto n = in.find("name"); n != in.end() && n->is_string() &&
                                    !n->get_ref<const std::string&>().empty())
        name = n->get<std::string>();
      if (auto t = in.find("text"); t != in.end() && t->is_string())
        text = t->get<std::string>();
    }
    if (text.empty() || text.size() > max_text || name.size() > max_name) {
      nlohmann::json err{{"type", "error"},
                         {"text", "send {\"name\": up to 32 bytes, \"text\": "
                                  "1 to 1000 bytes} as text"}};
      websockets().send(x.socket, err.dump());
      return;
    }
    auto seq = storage().get_value<int64_t>("seq");
    if (!seq)
      throw std::runtime_error(durable::message_of(seq.error()));
    auto next = seq->value_or(0) + 1;
    nlohmann::json line{{"name", name}, {"text", text}};
    auto stored =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    check(storage().put(key_of(next), stored));
    check(storage().put_value("seq", next));
    if (next > history_size)
      if (auto gone = storage().remove(key_of(next - history_size)); !gone)
        throw std::runtime_error(durable::message_of(gone.error()));
    line["type"] = "message";
    // Leaves once the writes above are durable (the output gate).
    websockets().broadcast(
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  /// Keys sort by sequence number: "m/" and 16 decimal digits.
  static std::string key_of(int64_t seq) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "m/%016lld", static_cast<long long>(seq));
    return buf;
  }
};

} // namespace example
