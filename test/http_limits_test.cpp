// What a client can make the HTTP front door hold, over real sockets: every
// buffer it can fill is bounded (measured as the resident memory of this
// process, where the server runs), connections are capped with a clear
// refusal, requests of clients that left are forgotten at once, and stopping
// is bounded whatever the clients do.

#define BOOST_TEST_MODULE http_limits
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "http_client.hpp"
#include "http_fixture.hpp"
#include "process_memory.hpp"

using namespace std::chrono_literals;

using namespace durable::test;

namespace {

constexpr size_t mib = size_t{1} << 20;

/// Growth of resident memory a few hostile clients may cause at most. The
/// server holds per connection its input buffer (header limit + 16 KiB), a
/// body (limit 1 MiB) and a few responses; 64 MiB leaves room for the
/// allocator and the clients' own buffers in this process.
constexpr size_t memory_bound = 64 * mib * sanitizer_memory_factor;

/// Connects `n` clients that send one request `head` and then stream `fill`
/// (up to 128 MiB each, far more than any limit). Returns what each got
/// back before the server closed.
std::vector<std::string> flood(uint16_t port, int n, const std::string& head,
                               char fill) {
  std::vector<std::string> answers(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      client c{port};
      c.send(head);
      // The reader runs beside the writer: a server that answers early is
      // heard even while the client keeps pushing.
      std::thread writer{
          [&] { c.stream(std::string(64 * 1024, fill), 128 * mib); }};
      answers[i] = c.read_to_end(10s);
      writer.join();
    });
  for (auto& t : threads)
    t.join();
  return answers;
}

bool starts_with(const std::string& x, const std::string& prefix) {
  return x.compare(0, prefix.size(), prefix) == 0;
}

/// Floods with three clients (see `flood`), checks that the server's memory
/// stayed within `memory_bound` and that each client got a 431 and a close;
/// returns the answers.
std::vector<std::string> flood_is_refused(uint16_t port,
                                          const std::string& head, char fill) {
  reset_peak_rss();
  auto before = rss_bytes();
  auto answers = flood(port, 3, head, fill);
  auto growth = peak_rss_bytes() - before;
  BOOST_TEST_MESSAGE("peak growth " << growth / 1024 << " KiB");
  BOOST_CHECK_LT(growth, memory_bound);
  for (auto& answer : answers) {
    BOOST_CHECK_MESSAGE(starts_with(answer, "HTTP/1.1 431"),
                        "got: " << answer.substr(0, 80));
    BOOST_CHECK(answer.find("Connection: close") != std::string::npos);
  }
  return answers;
}

} // namespace

// -- buffers ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(huge_chunk_extensions_get_431_with_bounded_memory) {
  fixture fx;
  auto answers = flood_is_refused(fx.port(),
                                  "POST /echo/x HTTP/1.1\r\nHost: t\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n5;",
                                  'e');
  for (auto& answer : answers)
    BOOST_CHECK(answer.find("chunk header or trailer larger than 32768 "
                            "bytes") != std::string::npos);
  // The server goes on.
  client c{fx.port()};
  auto r = c.request("GET", "/echo/x/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
}

BOOST_AUTO_TEST_CASE(huge_trailers_get_431_with_bounded_memory) {
  fixture fx;
  flood_is_refused(fx.port(),
                   "POST /echo/x HTTP/1.1\r\nHost: t\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx-t: ",
                   't');
}

BOOST_AUTO_TEST_CASE(a_client_that_never_reads_cannot_grow_the_server) {
  fixture fx;
  // Pipelined posts of 256 KiB that the object echoes back: unread
  // responses pile up until the server stops reading (max_pipelined).
  auto body = std::string(256 * 1024, 'b');
  auto request = client::format("POST", "/echo/never-reads", body);
  reset_peak_rss();
  auto before = rss_bytes();
  std::vector<std::unique_ptr<client>> clients;
  size_t sent = 0;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<client>(fx.port()));
    // 1000 requests (256 MiB) each; the server's window closes long before.
    sent += clients.back()->stream(request, 1000 * request.size(), 1s);
  }
  auto growth = peak_rss_bytes() - before;
  BOOST_TEST_MESSAGE("sent " << sent / mib << " MiB, peak growth "
                             << growth / 1024 << " KiB");
  BOOST_CHECK_LT(sent, 3 * 1000 * request.size());
  BOOST_CHECK_LT(growth, memory_bound);
  // Others are served meanwhile.
  client c{fx.port()};
  auto r = c.request("GET", "/echo/other/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  // What the deaf clients sent was well-formed: they get echoes.
  r = clients.front()->read();
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(r->body().size(), body.size());
}

BOOST_AUTO_TEST_CASE(bodies_in_flight_are_bounded_in_bytes) {
  durable::http::server_options opts;
  opts.max_in_flight_bytes = 1024 * 1024;
  fixture fx{opts};
  auto body = std::string(400 * 1024, 'q');
  // Two requests with 400 KiB bodies wait at slow objects: 800 KiB held.
  std::vector<std::unique_ptr<client>> holders;
  for (auto name : {"a", "b"}) {
    holders.push_back(std::make_unique<client>(fx.port()));
    holders.back()->send(client::format(
        "POST", std::string{"/echo/"} + name + "/sleep?ms=1500", body));
  }
  BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 2; }));
  // A third does not fit: refused at once, before it reaches the object.
  client c{fx.port()};
  auto r = c.request("POST", "/echo/c/inc", body);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 503);
  BOOST_CHECK_EQUAL(
      r->body(),
      error_body("Server is overloaded. Too many requests in flight.", false,
                 true));
  // A small one still fits, and once the others are answered, so does it.
  r = c.request("GET", "/echo/c/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  for (auto& h : holders) {
    r = h->read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200);
  }
  r = c.request("POST", "/echo/c/inc", body);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
}

// -- connections --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(connections_over_the_cap_get_503_at_once) {
  durable::http::server_options opts;
  opts.max_connections = 20;
  fixture fx{opts};
  client active{fx.port()};
  BOOST_REQUIRE(active.request("GET", "/echo/active/inc"));
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 19; ++i)
    idle.push_back(std::make_unique<client>(fx.port()));
  BOOST_REQUIRE(eventually([&] { return fx.srv->connections() == 20; }));
  // Over the cap: refused at once, before the client says anything.
  {
    client refused{fx.port()};
    auto r = refused.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 503);
    BOOST_CHECK(!r->keep_alive());
    BOOST_CHECK_EQUAL(
        r->body(),
        error_body("too many connections (at most 20): try again later", true));
    BOOST_CHECK(refused.closed_by_server());
  }
  // Many more at once: each is told or closed, none is left hanging, and
  // the active client is served all along.
  std::vector<std::unique_ptr<client>> crowd;
  for (int i = 0; i < 200; ++i)
    crowd.push_back(std::make_unique<client>(fx.port()));
  for (int i = 2; i <= 6; ++i) {
    auto r = active.request("GET", "/echo/active/inc");
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(header(*r, "x-count"), std::to_string(i));
  }
  for (auto& c : crowd)
    BOOST_CHECK(c->closed_by_server());
  BOOST_CHECK_EQUAL(fx.srv->connections(), 20u);
  // Room again once some leave.
  idle.resize(10);
  BOOST_REQUIRE(eventually([&] { return fx.srv->connections() == 11; }));
  client later{fx.port()};
  auto r = later.request("GET", "/echo/active/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "7");
}

BOOST_AUTO_TEST_CASE(the_default_cap_stays_below_the_descriptor_limit) {
  fixture fx;
  auto cap = fx.srv->options().max_connections;
  rlimit lim{};
  BOOST_REQUIRE_EQUAL(getrlimit(RLIMIT_NOFILE, &lim), 0);
  BOOST_CHECK_GT(cap, 0u);
  BOOST_CHECK_LE(cap, 10'000u);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur > 512)
    BOOST_CHECK_LE(cap + 256, lim.rlim_cur);
}

// -- clients that leave -------------------------------------------------------

BOOST_AUTO_TEST_CASE(requests_of_clients_that_left_are_forgotten) {
  durable::http::server_options opts;
  opts.shutdown_timeout = 60s;
  fixture fx{opts};
  // One slow object, 20 requests of 300 ms each: 6 s of work queued.
  auto finished_before = slept.load();
  {
    std::vector<std::unique_ptr<client>> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<client>(fx.port()));
      clients.back()->send(client::format("GET", "/echo/slow/sleep?ms=300"));
    }
    BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 20; }));
  } // All clients close.
  // Forgotten at once: long before the object got through its queue.
  BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 0; }));
  BOOST_CHECK_LT(slept - finished_before, 10);
  BOOST_CHECK_EQUAL(fx.srv->connections(), 0u);
  // Stopping does not wait for them (the shutdown timeout is a minute).
  fx.srv->stop();
  BOOST_CHECK_LT(slept - finished_before, 20);
}

BOOST_AUTO_TEST_CASE(clients_that_left_are_noticed_while_not_read) {
  durable::http::server_options opts;
  opts.max_pipelined = 2;
  fixture fx{opts};
  auto finished_before = slept.load();
  {
    // Two slow requests fill this client's pipeline: the server stops
    // reading it, so only watching the socket tells when it leaves.
    client c{fx.port()};
    c.send(client::format("GET", "/echo/paused/sleep?ms=2000") +
           client::format("GET", "/echo/paused/sleep?ms=2000"));
    BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 2; }));
  }
  // Noticed at once, not when the first answer fails to go out.
  BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 0; }));
  BOOST_CHECK_EQUAL(slept - finished_before, 0);
  BOOST_CHECK_EQUAL(fx.srv->connections(), 0u);
}

// -- stopping -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(stop_is_bounded_whatever_the_clients_do) {
  durable::http::server_options opts;
  opts.shutdown_timeout = 300ms;
  fixture fx{opts};
  // Idle connections.
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 200; ++i)
    idle.push_back(std::make_unique<client>(fx.port()));
  // Clients that never read their (large) responses.
  auto request =
      client::format("POST", "/echo/big", std::string(512 * 1024, 'r'));
  std::vector<std::unique_ptr<client>> deaf;
  for (int i = 0; i < 3; ++i) {
    deaf.push_back(std::make_unique<client>(fx.port()));
    deaf.back()->stream(request, 64 * request.size(), 500ms);
  }
  // Connected clients waiting on a slow object (last: under a sanitizer the
  // streams above take seconds, and the sleeps must still be going on).
  std::vector<std::unique_ptr<client>> waiting;
  for (int i = 0; i < 10; ++i) {
    waiting.push_back(std::make_unique<client>(fx.port()));
    waiting.back()->send(client::format("GET", "/echo/stuck/sleep?ms=400"));
  }
  BOOST_REQUIRE_MESSAGE(eventually([&] { return sleeping > 0; }),
                        "slept: " << slept.load());
  auto start = std::chrono::steady_clock::now();
  fx.srv->stop();
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_MESSAGE(
      "stop took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms");
  // The shutdown timeout, the one-second grace for writes, and slack.
  BOOST_CHECK(took < 5s);
  for (auto& c : idle)
    BOOST_CHECK(c->closed_by_server(1s));
}
