// WebSockets terminated at durable objects, over real sockets on 127.0.0.1:
// broadcast and tags, order per socket, hibernation (the object evicted
// while its sockets stay open), auto-responses that do not wake it, the
// output gate, and every limit (slow readers, oversized messages, sockets
// per object), abrupt disconnects and shutdown.

#define BOOST_TEST_MODULE websocket
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "http_fixture.hpp"
#include "websocket_client.hpp"
#include "writer_stall.hpp"

#include "durable/websocket.hpp"

using namespace std::chrono_literals;
using namespace durable::test;

namespace {

using room_api = caf::typed_actor<durable::fetch_signature>::extend_with<
    durable::websocket_signatures>;

/// What rooms saw, over all instances.
struct journal {
  std::atomic<int> activations{0};
  std::atomic<int> live{0};
  std::atomic<int> opens{0};
  std::atomic<int> saves{0};
  std::mutex mtx;
  std::vector<durable::websocket_close> closes;
  std::vector<std::string> errors;

  std::vector<durable::websocket_close> closes_now() {
    std::lock_guard<std::mutex> guard{mtx};
    return closes;
  }
} seen;

std::string query(const std::string& url, const std::string& key) {
  auto at = url.find(key + "=");
  if (at == std::string::npos)
    return {};
  auto begin = at + key.size() + 1;
  return url.substr(begin, url.find('&', begin) - begin);
}

/// A chat-room-like object driven by text commands from its sockets.
class room : public durable::object<room_api> {
public:
  room(caf::actor_config& cfg, durable::object_context ctx)
      : object(cfg, std::move(ctx)) {
    ++seen.activations;
    ++seen.live;
  }

  ~room() override { --seen.live; }

  behavior_type make_behavior() override {
    return {
        [this](durable::fetch_request& req) -> durable::fetch_response {
          if (has(req.url, "/deny"))
            return durable::make_text_response(403, "not in this room");
          if (has(req.url, "/foreign")) {
            // As if an object of another node accepted.
            auto resp = durable::accept_websocket();
            resp.headers.front().second = "1";
            return resp;
          }
          if (!durable::is_websocket_upgrade(req))
            return durable::accept_websocket(); // Wrong: not an upgrade.
          durable::websocket_accept acc;
          if (auto tag = query(req.url, "tag"); !tag.empty())
            acc.tags.push_back(tag);
          acc.attachment = query(req.url, "user");
          acc.auto_request = "ping";
          acc.auto_response = "pong";
          return durable::accept_websocket(std::move(acc));
        },
        [](durable::websocket_open&) { ++seen.opens; },
        [this](durable::websocket_message& msg) { on_message(msg); },
        [](durable::websocket_close& x) {
          std::lock_guard<std::mutex> guard{seen.mtx};
          seen.closes.push_back(x);
        },
        [](durable::websocket_error& x) {
          std::lock_guard<std::mutex> guard{seen.mtx};
          seen.errors.push_back(x.what);
        },
    };
  }

private:
  void on_message(durable::websocket_message& msg) {
    auto sockets = websockets();
    auto& text = msg.data;
    auto arg = text.substr(text.find(':') + 1);
    if (text.rfind("all:", 0) == 0) {
      sockets.broadcast(arg);
    } else if (text.rfind("tag:", 0) == 0) {
      auto tag = arg.substr(0, arg.find(':'));
      sockets.broadcast(arg.substr(arg.find(':') + 1), tag);
    } else if (text.rfind("echo:", 0) == 0) {
      sockets.send(msg.socket, arg);
    } else if (text == "list") {
      // Every socket's attachment, sorted: what a woken instance finds.
      std::vector<std::string> xs;
      for (auto& info : sockets.list())
        xs.push_back(info.attachment);
      std::sort(xs.begin(), xs.end());
      std::string out = "n=" + std::to_string(xs.size());
      for (auto& x : xs)
        out += ";" + x;
      sockets.send(msg.socket, out);
    } else if (text.rfind("attach:", 0) == 0) {
      auto err = sockets.set_attachment(msg.socket, arg);
      sockets.send(msg.socket, err ? durable::message_of(err) : "ok");
    } else if (text.rfind("flood:", 0) == 0) {
      auto n = std::stoi(arg);
      std::string blob(16 * 1024, 'f');
      for (int i = 0; i < n; ++i)
        sockets.send(msg.socket, blob);
    } else if (text.rfind("close:", 0) == 0) {
      auto err = sockets.close(msg.socket, std::stoi(arg), "bye");
      if (err)
        sockets.send(msg.socket, durable::message_of(err));
    } else if (text == "fill") {
      // More than the map holds: the commit fails, and what this turn sent
      // must never reach the socket.
      std::string blob(131072, 'x');
      for (int i = 0; i < 12; ++i)
        storage().put("blob-" + std::to_string(i), blob);
      sockets.send(msg.socket, "leaked");
    } else if (text == "save") {
      storage().put("saved", "1");
      sockets.send(msg.socket, "saved");
      ++seen.saves;
    }
  }
};

using room_ns = durable::object_namespace<room_api>;

struct ws_fixture {
  durable::config cfg;
  caf::actor_system sys;
  std::string data_dir;
  durable::deployment dep;
  room_ns ns;
  std::unique_ptr<durable::http::server> srv;

  explicit ws_fixture(durable::http::server_options opts = {},
                      size_t map_size = size_t{64} << 20)
      : sys(fixture::init(cfg)),
        data_dir("/tmp/durable-ws-test-" + std::to_string(::getpid())),
        dep(open(sys, data_dir, map_size)),
        ns(fixture::must(
            dep.bind<room>("room", durable::namespace_options{200ms}))) {
    seen.activations = 0;
    seen.opens = 0;
    {
      std::lock_guard<std::mutex> guard{seen.mtx};
      seen.closes.clear();
      seen.errors.clear();
    }
    srv = std::make_unique<durable::http::server>(sys, opts);
    BOOST_REQUIRE(!srv->bind("room", ns));
    if (auto err = srv->start())
      BOOST_FAIL("cannot start: " << durable::message_of(err));
  }

  ~ws_fixture() {
    srv.reset();
    dep.shutdown();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir, ignored);
  }

  static durable::deployment open(caf::actor_system& sys,
                                  const std::string& dir, size_t map_size) {
    durable::settings s;
    s.data_dir = dir;
    s.secret_hex = std::string(64, 'a');
    s.map_size = map_size;
    s.max_map_size = map_size;
    return fixture::must(durable::deployment::open(sys, s));
  }

  std::unique_ptr<ws_client> connect(const std::string& query = {},
                                     const std::string& room = "lobby") {
    return std::make_unique<ws_client>(srv->port(), "/room/" + room + query);
  }

  std::vector<std::unique_ptr<ws_client>> connect_many(int n) {
    std::vector<std::unique_ptr<ws_client>> result;
    for (int i = 0; i < n; ++i) {
      result.push_back(connect("?user=u" + std::to_string(1000 + i)));
      BOOST_REQUIRE_MESSAGE(result.back()->ok(),
                            result.back()->error.message());
    }
    BOOST_REQUIRE(eventually([&] { return seen.opens.load() >= n; }));
    return result;
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(broadcast_reaches_every_client_exactly_once) {
  ws_fixture fx;
  constexpr int n = 40;
  auto clients = fx.connect_many(n);
  // Every client says something at once; each hears all of it, once.
  std::vector<std::thread> senders;
  for (int i = 0; i < n; ++i)
    senders.emplace_back(
        [&, i] { clients[i]->send("all:m" + std::to_string(i)); });
  for (auto& t : senders)
    t.join();
  for (auto& c : clients) {
    std::multiset<std::string> got;
    for (int i = 0; i < n; ++i) {
      auto msg = c->read();
      BOOST_REQUIRE_MESSAGE(msg, c->error.message());
      got.insert(*msg);
    }
    for (int i = 0; i < n; ++i)
      BOOST_CHECK_EQUAL(got.count("m" + std::to_string(i)), 1u);
  }
  // Nothing more is on its way: a marker sent now is the next message.
  clients[0]->send("all:end");
  for (auto& c : clients)
    BOOST_CHECK_EQUAL(c->read().value_or("<none>"), "end");
}

BOOST_AUTO_TEST_CASE(tags_select_sockets) {
  ws_fixture fx;
  auto red1 = fx.connect("?tag=red");
  auto red2 = fx.connect("?tag=red");
  auto blue = fx.connect("?tag=blue");
  BOOST_REQUIRE(red1->ok() && red2->ok() && blue->ok());
  BOOST_REQUIRE(eventually([] { return seen.opens.load() == 3; }));
  blue->send("tag:red:for red");
  blue->send("tag:blue:for blue");
  BOOST_CHECK_EQUAL(red1->read().value_or(""), "for red");
  BOOST_CHECK_EQUAL(red2->read().value_or(""), "for red");
  BOOST_CHECK_EQUAL(blue->read().value_or(""), "for blue");
}

BOOST_AUTO_TEST_CASE(messages_of_one_socket_arrive_in_order) {
  ws_fixture fx;
  auto c = fx.connect();
  auto other = fx.connect();
  BOOST_REQUIRE(c->ok() && other->ok());
  // Sent without waiting: the object handles them in order, and so do
  // the answers to this socket and the broadcasts to the other one.
  constexpr int n = 500;
  for (int i = 0; i < n; ++i) {
    BOOST_REQUIRE(c->send("echo:" + std::to_string(i)));
    BOOST_REQUIRE(c->send("tag:none:x"));
  }
  for (int i = 0; i < 100; ++i)
    BOOST_REQUIRE(c->send("all:" + std::to_string(i)));
  for (int i = 0; i < n; ++i)
    BOOST_REQUIRE_EQUAL(c->read().value_or("<none>"), std::to_string(i));
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE_EQUAL(c->read().value_or("<none>"), std::to_string(i));
    BOOST_REQUIRE_EQUAL(other->read().value_or("<none>"), std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE(evicted_object_keeps_its_sockets_and_wakes_on_a_message) {
  ws_fixture fx;
  constexpr int n = 100;
  auto clients = fx.connect_many(n);
  clients[7]->send("attach:changed");
  BOOST_REQUIRE_EQUAL(clients[7]->read().value_or(""), "ok");
  // Sockets do not pin the object: it is evicted while all stay open.
  BOOST_REQUIRE_MESSAGE(eventually([] { return seen.live.load() == 0; }),
                        "the room was not evicted");
  auto before = seen.activations.load();
  BOOST_CHECK_EQUAL(fx.srv->websockets(), size_t{n});
  clients[42]->send("list");
  auto listed = clients[42]->read();
  BOOST_REQUIRE(listed);
  std::string expected = "n=" + std::to_string(n);
  std::vector<std::string> xs;
  for (int i = 0; i < n; ++i)
    xs.push_back(i == 7 ? "changed" : "u" + std::to_string(1000 + i));
  std::sort(xs.begin(), xs.end());
  for (auto& x : xs)
    expected += ";" + x;
  BOOST_CHECK_EQUAL(*listed, expected);
  BOOST_CHECK_EQUAL(seen.activations.load(), before + 1);
  // The woken instance reaches every socket.
  clients[0]->send("all:woken");
  for (auto& c : clients)
    BOOST_CHECK_EQUAL(c->read().value_or("<none>"), "woken");
}

BOOST_AUTO_TEST_CASE(auto_response_does_not_wake_an_evicted_object) {
  ws_fixture fx;
  auto c = fx.connect();
  BOOST_REQUIRE(c->ok());
  BOOST_REQUIRE(eventually([] { return seen.live.load() == 0; }));
  auto before = seen.activations.load();
  for (int i = 0; i < 20; ++i) {
    c->send("ping");
    BOOST_REQUIRE_EQUAL(c->read().value_or("<none>"), "pong");
  }
  BOOST_CHECK_EQUAL(seen.activations.load(), before);
  BOOST_CHECK_EQUAL(seen.live.load(), 0);
  c->send("echo:hi"); // Anything else does wake it.
  BOOST_CHECK_EQUAL(c->read().value_or("<none>"), "hi");
  BOOST_CHECK_EQUAL(seen.activations.load(), before + 1);
}

BOOST_AUTO_TEST_CASE(slow_reader_is_closed_with_1008_and_memory_stays_bounded) {
  durable::http::server_options opts;
  opts.websocket_send_queue = 256 * 1024;
  opts.websocket_close_timeout = 20s;
  ws_fixture fx{opts};
  auto slow = fx.connect();
  auto fast = fx.connect();
  BOOST_REQUIRE(slow->ok() && fast->ok());
  BOOST_REQUIRE(eventually([] { return seen.opens.load() == 2; }));
  // Each command makes the object send 128 KiB, within the queue: a
  // client that reads keeps up, one that never reads fills the kernel's
  // buffers and then its queue.
  std::atomic<bool> done{false};
  std::atomic<size_t> most{0};
  std::thread sampler{[&] {
    while (!done) {
      auto x = fx.srv->websocket_queued_bytes();
      if (x > most)
        most = x;
      std::this_thread::sleep_for(1ms);
    }
  }};
  for (int i = 0; i < 20; ++i) {
    fast->send("flood:8");
    for (int j = 0; j < 8; ++j)
      BOOST_REQUIRE(fast->read());
  }
  auto closed_1008 = [] {
    for (auto& x : seen.closes_now())
      if (x.code == 1008)
        return true;
    return false;
  };
  // 64 MiB at most, more than loopback buffers hold.
  for (int i = 0; i < 512 && !closed_1008(); ++i)
    slow->send("flood:8");
  BOOST_CHECK(eventually(closed_1008));
  done = true;
  sampler.join();
  BOOST_CHECK_LE(most.load(), opts.websocket_send_queue);
  // The reader catches up and finds the close frame after what got out.
  BOOST_CHECK_EQUAL(slow->read_until_closed(), 1008);
  BOOST_CHECK(eventually([&] { return fx.srv->websockets() == 1; }));
  BOOST_CHECK_EQUAL(fx.srv->websocket_queued_bytes(), 0u);
  // Others are not affected.
  fast->send("echo:still here");
  BOOST_CHECK_EQUAL(fast->read().value_or("<none>"), "still here");
}

BOOST_AUTO_TEST_CASE(oversized_message_closes_with_1009) {
  durable::http::server_options opts;
  opts.websocket_message_limit = 64 * 1024;
  ws_fixture fx{opts};
  auto c = fx.connect();
  BOOST_REQUIRE(c->ok());
  c->send("echo:" + std::string(32 * 1024, 'a')); // Within the limit.
  BOOST_CHECK_EQUAL(c->read().value_or("").size(), 32u * 1024);
  c->send(std::string(64 * 1024 + 1, 'b'));
  BOOST_CHECK_EQUAL(c->read_until_closed(), 1009);
  BOOST_CHECK(eventually([] {
    auto xs = seen.closes_now();
    return xs.size() == 1 && xs[0].code == 1009 && !xs[0].clean;
  }));
  std::lock_guard<std::mutex> guard{seen.mtx};
  BOOST_REQUIRE_EQUAL(seen.errors.size(), 1u);
  BOOST_CHECK_NE(seen.errors[0].find("larger than 65536 bytes"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(abrupt_disconnects_reach_the_object_and_leak_nothing) {
  ws_fixture fx;
  constexpr int n = 30;
  auto clients = fx.connect_many(n);
  auto clean = fx.connect();
  BOOST_REQUIRE(clean->ok());
  for (int i = 0; i < n; ++i) {
    auto& sock = clients[i]->stream().next_layer();
    if (i % 2 == 0) {
      // The head of a 1 MiB masked text frame and a few bytes of it.
      unsigned char head[] = {0x81, 0xFF, 0, 0, 0, 0, 0,
                              0x10, 0,    0, 1, 2, 3, 4};
      boost::system::error_code ec;
      wsnet::write(sock, wsnet::buffer(head), ec);
      wsnet::write(sock, wsnet::buffer(std::string(1000, 'z')), ec);
    }
    // RST instead of FIN.
    sock.set_option(wsnet::socket_base::linger{true, 0});
    sock.close();
  }
  BOOST_CHECK(eventually([] { return seen.closes_now().size() == n; }));
  for (auto& x : seen.closes_now()) {
    BOOST_CHECK_EQUAL(x.code, 1006);
    BOOST_CHECK(!x.clean);
  }
  BOOST_CHECK(eventually([&] { return fx.srv->websockets() == 1; }));
  BOOST_CHECK(eventually([&] { return fx.srv->connections() == 1; }));
  // A clean close carries the client's code and reason.
  ws::close_reason why;
  why.code = 4001;
  why.reason = "done";
  clean->stream().close(why);
  BOOST_CHECK(eventually([] { return seen.closes_now().size() == n + 1; }));
  auto last = seen.closes_now().back();
  BOOST_CHECK_EQUAL(last.code, 4001);
  BOOST_CHECK_EQUAL(last.reason, "done");
  BOOST_CHECK(last.clean);
  BOOST_CHECK(eventually([&] { return fx.srv->websockets() == 0; }));
}

BOOST_AUTO_TEST_CASE(nothing_sent_after_a_failed_write_reaches_the_socket) {
  ws_fixture fx{{}, size_t{1} << 20};
  auto c = fx.connect();
  BOOST_REQUIRE(c->ok());
  c->send("save");
  BOOST_REQUIRE_EQUAL(c->read().value_or("<none>"), "saved");
  for (int round = 0; round < 3; ++round) {
    c->send("fill");
    // The next answer on this socket is this one, not "leaked".
    c->send("echo:after " + std::to_string(round));
    auto got = c->read();
    BOOST_CHECK_MESSAGE(got && *got == "after " + std::to_string(round),
                        "round " << round << ": "
                                 << (got ? *got : c->error.message()));
  }
  // The reset instance's successor still has the socket.
  BOOST_CHECK_EQUAL(fx.srv->websockets(), 1u);
}

BOOST_AUTO_TEST_CASE(object_closes_a_socket_with_its_code) {
  ws_fixture fx;
  auto c = fx.connect();
  BOOST_REQUIRE(c->ok());
  c->send("close:1001"); // Not a code an application may send.
  BOOST_CHECK_NE(c->read().value_or("").find("invalid WebSocket close code"),
                 std::string::npos);
  c->send("echo:a");
  c->send("close:4000");
  BOOST_CHECK_EQUAL(c->read().value_or(""), "a");
  BOOST_CHECK_EQUAL(c->read_until_closed(), 4000);
  BOOST_CHECK(eventually([&] { return fx.srv->websockets() == 0; }));
  // The object closed it: it gets no close event.
  std::this_thread::sleep_for(100ms);
  BOOST_CHECK(seen.closes_now().empty());
}

BOOST_AUTO_TEST_CASE(upgrades_are_refused_with_clear_errors) {
  durable::http::server_options opts;
  opts.websockets_per_object = 3;
  ws_fixture fx{opts};
  auto upgrade = [&](const std::string& path, bool ask = true) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (ask)
      headers = {{"Upgrade", "websocket"},
                 {"Connection", "Upgrade"},
                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                 {"Sec-WebSocket-Version", "13"}};
    client c{fx.srv->port()};
    auto resp = c.request("GET", path, {}, headers);
    BOOST_REQUIRE(resp);
    return *resp;
  };
  auto denied = upgrade("/room/lobby/deny");
  BOOST_CHECK_EQUAL(denied.result_int(), 403);
  BOOST_CHECK_EQUAL(denied.body(), "not in this room");
  auto foreign = upgrade("/room/lobby/foreign");
  BOOST_CHECK_EQUAL(foreign.result_int(), 501);
  BOOST_CHECK_NE(foreign.body().find("another node"), std::string::npos);
  // "Accept" for a plain request is the object's mistake.
  auto plain = upgrade("/room/lobby", false);
  BOOST_CHECK_EQUAL(plain.result_int(), 500);
  BOOST_CHECK_NE(plain.body().find("not a WebSocket upgrade"),
                 std::string::npos);
  BOOST_CHECK(plain.find("x-durable-websocket-accept") == plain.end());
  std::vector<std::unique_ptr<ws_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(fx.connect());
    BOOST_REQUIRE(held.back()->ok());
  }
  auto fourth = upgrade("/room/lobby");
  BOOST_CHECK_EQUAL(fourth.result_int(), 503);
  BOOST_CHECK_EQUAL(
      fourth.body(),
      error_body("too many WebSockets on this Durable Object (at most 3)",
                 false, true));
  auto elsewhere = fx.connect("", "other-room"); // The limit is per object.
  BOOST_CHECK(elsewhere->ok());
  BOOST_CHECK_EQUAL(fx.srv->websockets(), 4u);
}

BOOST_AUTO_TEST_CASE(sends_held_for_a_commit_outlive_the_server) {
  // An object's send waits for its turn's commit while the server goes
  // away: the held send must find nothing of the server it touches (a use
  // after free otherwise: the crash this was written for), and goes nowhere.
  ws_fixture fx;
  auto c = fx.connect();
  BOOST_REQUIRE(c->ok());
  BOOST_REQUIRE(eventually([] { return seen.opens.load() == 1; }));
  uint16_t code = 0;
  {
    test::writer_stall stall{fx.dep};
    seen.saves = 0;
    c->send("save");
    BOOST_REQUIRE(eventually([] { return seen.saves.load() == 1; }));
    // The client answers the close handshake while the server stops.
    std::thread reader{[&] { code = c->read_until_closed(); }};
    fx.srv.reset(); // Its loops, sockets and state are gone now.
    reader.join();
    // Leaving the scope completes the commit: the held send runs and goes
    // nowhere.
  }
  BOOST_CHECK_EQUAL(code, 1001);
}

BOOST_AUTO_TEST_CASE(stop_closes_every_socket_with_1001) {
  ws_fixture fx;
  constexpr int n = 20;
  auto clients = fx.connect_many(n);
  std::thread stopper{[&] { fx.srv->stop(); }};
  for (auto& c : clients)
    BOOST_CHECK_EQUAL(c->read_until_closed(), 1001);
  stopper.join();
  BOOST_CHECK_EQUAL(fx.srv->websockets(), 0u);
}
