#define BOOST_TEST_MODULE chat_room
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../examples/chat_room/chat_room.hpp"
#include "durable/deployment.hpp"
#include "durable/http_server.hpp"
#include "websocket_client.hpp"

// The chat room example over real WebSockets: what members see, what a
// joining member is replayed, what survives a restart. The browser test
// (chat_room_browser.py) shows the same in Chromium.

using durable::test::ws_client;
using nlohmann::json;
using room_ns = durable::object_namespace<example::room_api>;

namespace {

struct fixture {
  durable::config cfg;
  caf::actor_system sys;
  std::string dir;
  std::optional<durable::deployment> dep;
  room_ns rooms;
  std::optional<durable::http::server> srv;

  fixture()
      : sys(init(cfg)),
        dir("/tmp/durable-chat-test-" + std::to_string(::getpid())) {
    start();
  }

  ~fixture() {
    stop();
    std::filesystem::remove_all(dir);
  }

  static durable::config& init(durable::config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  void start() {
    durable::settings s;
    s.data_dir = dir;
    s.secret_hex = std::string(64, 'c');
    auto d = durable::deployment::open(sys, s);
    BOOST_REQUIRE(d);
    dep.emplace(std::move(*d));
    auto ns = dep->bind<example::chat_room>("chat-room");
    BOOST_REQUIRE(ns);
    rooms = *ns;
    srv.emplace(sys);
    BOOST_REQUIRE(!srv->bind("chat", rooms));
    BOOST_REQUIRE(!srv->start());
  }

  void stop() {
    srv.reset();
    rooms = room_ns{};
    if (dep)
      dep->shutdown();
    dep.reset();
  }

  std::unique_ptr<ws_client> join(const std::string& room) {
    auto c = std::make_unique<ws_client>(srv->port(), "/chat/" + room + "/ws");
    BOOST_REQUIRE_MESSAGE(c->ok(), c->error.message());
    return c;
  }
};

/// The next message of `c` as JSON (fails the test on none).
json next(ws_client& c) {
  auto text = c.read();
  BOOST_REQUIRE_MESSAGE(text, "no message: " << c.error.message());
  return json::parse(*text);
}

std::string say(const std::string& name, const std::string& text) {
  return json{{"name", name}, {"text", text}}.dump();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(chat_room_suite, fixture)

BOOST_AUTO_TEST_CASE(every_member_sees_every_message_once_in_order) {
  std::vector<std::unique_ptr<ws_client>> members;
  for (int i = 0; i < 5; ++i)
    members.push_back(join("lobby"));
  // A socket belongs to the room once its handshake completed.
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE(members[i % 5]->send(
        say("m" + std::to_string(i % 5), "line " + std::to_string(i))));
  // Lines from one member arrive in the order sent; the room orders all of
  // them the same way for everyone.
  std::vector<std::string> first;
  for (size_t m = 0; m < members.size(); ++m) {
    std::vector<std::string> seen;
    for (int i = 0; i < 20; ++i) {
      auto x = next(*members[m]);
      BOOST_REQUIRE_EQUAL(x["type"], "message");
      BOOST_CHECK(!x.contains("history"));
      seen.push_back(x["name"].get<std::string>() + ":" +
                     x["text"].get<std::string>());
    }
    if (m == 0)
      first = seen;
    else
      BOOST_CHECK(seen == first);
    for (int sender = 0; sender < 5; ++sender) {
      int last = -1;
      for (auto& line : seen)
        if (line.rfind("m" + std::to_string(sender) + ":", 0) == 0) {
          auto n = std::stoi(line.substr(line.find("line ") + 5));
          BOOST_CHECK_GT(n, last);
          last = n;
        }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_member_who_joins_gets_the_last_50_messages) {
  auto alice = join("history");
  for (int i = 1; i <= 60; ++i) {
    BOOST_REQUIRE(alice->send(say("alice", std::to_string(i))));
    BOOST_REQUIRE_EQUAL(next(*alice)["text"], std::to_string(i));
  }
  auto bob = join("history");
  for (int i = 11; i <= 60; ++i) {
    auto x = next(*bob);
    BOOST_CHECK_EQUAL(x["history"], true);
    BOOST_CHECK_EQUAL(x["text"], std::to_string(i));
  }
  // Then live messages, not more history.
  BOOST_REQUIRE(alice->send(say("alice", "live")));
  auto x = next(*bob);
  BOOST_CHECK_EQUAL(x["text"], "live");
  BOOST_CHECK(!x.contains("history"));
}

BOOST_AUTO_TEST_CASE(bad_messages_get_an_error_and_are_not_stored) {
  auto c = join("strict");
  for (auto bad :
       {std::string{"not json"}, say("x", ""), say(std::string(33, 'n'), "hi"),
        say("x", std::string(1001, 't'))}) {
    BOOST_REQUIRE(c->send(bad));
    BOOST_CHECK_EQUAL(next(*c)["type"], "error");
  }
  auto later = join("strict");
  BOOST_REQUIRE(later->send(say("later", "first")));
  auto x = next(*later);
  BOOST_CHECK_EQUAL(x["text"], "first"); // No history from the bad ones.
  BOOST_CHECK(!x.contains("history"));
}

BOOST_AUTO_TEST_CASE(the_history_survives_a_restart) {
  {
    auto c = join("kept");
    BOOST_REQUIRE(c->send(say("a", "before the restart")));
    BOOST_REQUIRE_EQUAL(next(*c)["text"], "before the restart");
  }
  stop();
  start();
  auto c = join("kept");
  auto x = next(*c);
  BOOST_CHECK_EQUAL(x["text"], "before the restart");
  BOOST_CHECK_EQUAL(x["history"], true);
}

BOOST_AUTO_TEST_SUITE_END()
