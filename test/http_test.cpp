// The HTTP front door over real sockets on 127.0.0.1: routing, what reaches
// the object and what comes back, keep-alive, pipelining, the 4xx and 5xx
// answers, many clients at once, timeouts and shutdown.

#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "http_fixture.hpp"

using namespace std::chrono_literals;

using namespace durable::test;

namespace {

std::chrono::steady_clock::time_point now() {
  return std::chrono::steady_clock::now();
}

std::string upper(std::string x) {
  for (auto& c : x)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return x;
}

} // namespace

// -- routing ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(routes_by_name) {
  fixture fx;
  client c{fx.port()};
  auto r = c.request("GET", "/echo/alice/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(header(*r, "x-object"), "alice");
  BOOST_CHECK_EQUAL(header(*r, "x-id"),
                    fx.ns.id_from_name("alice").to_string());
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
  r = c.request("GET", "/echo/alice/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
  // The name segment is percent-decoded; the url reaches the object as sent.
  r = c.request("GET", "/echo/a%2Fb%20c/inc?x=%20");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-object"), "a/b c");
  BOOST_CHECK_EQUAL(header(*r, "x-url"), "/echo/a%2Fb%20c/inc?x=%20");
  BOOST_CHECK_EQUAL(header(*r, "x-id"),
                    fx.ns.id_from_name("a/b c").to_string());
  // Without a rest, and with a query right after the name.
  r = c.request("GET", "/echo/alice?q=1");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-object"), "alice");
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
  r = c.request("GET", "/echo/bad%zzname");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 400);
  r = c.request("GET", "/echo/");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 400);
}

BOOST_AUTO_TEST_CASE(routes_by_id_in_either_case) {
  fixture fx;
  client c{fx.port()};
  auto hex = fx.ns.id_from_name("bob").to_string();
  auto r = c.request("GET", "/echo/bob/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
  r = c.request("GET", "/echo/id/" + upper(hex) + "/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(header(*r, "x-id"), hex);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
  r = c.request("GET", "/echo/id/" + hex);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
  // A unique ID works the same way.
  auto unique = fx.ns.new_unique_id();
  BOOST_REQUIRE(unique);
  r = c.request("POST", "/echo/id/" + unique->to_string() + "/inc", "x");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-id"), unique->to_string());
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

BOOST_AUTO_TEST_CASE(request_and_response_pass_through) {
  fixture fx;
  client c{fx.port()};
  auto r = c.request("POST", "/echo/carol/path/x?q=1&r=%41", "hello world",
                     {{"X-Tag", "t-42"}, {"x-status", "201"}});
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 201);
  BOOST_CHECK_EQUAL(header(*r, "x-method"), "POST");
  BOOST_CHECK_EQUAL(header(*r, "x-url"), "/echo/carol/path/x?q=1&r=%41");
  BOOST_CHECK_EQUAL(header(*r, "x-tag"), "t-42");
  // Host, X-Tag, x-status, Content-Length.
  BOOST_CHECK_EQUAL(header(*r, "x-headers"), "4");
  BOOST_CHECK_EQUAL(r->body(), "hello world");
  BOOST_CHECK(r->keep_alive());
  // Any method token reaches the object; HEAD gets no body.
  r = c.request("PURGE", "/echo/carol");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-method"), "PURGE");
  r = c.request("HEAD", "/echo/carol", {}, {{"x-tag", "abc"}});
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-method"), "HEAD");
  BOOST_CHECK(r->body().empty());
  // 204 goes out without a body; a header that would split the response is
  // dropped.
  r = c.request("PUT", "/echo/carol", "ignored",
                {{"x-status", "204"}, {"x-inject", "1"}});
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 204);
  BOOST_CHECK(r->body().empty());
  BOOST_CHECK_EQUAL(header(*r, "x-bad"), "<missing>");
  BOOST_CHECK_EQUAL(header(*r, "x-evil"), "<missing>");
  // An invalid status from the object becomes a 500.
  r = c.request("GET", "/echo/carol", {}, {{"x-status", "42"}});
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 500);
  // The connection survived all of it.
  r = c.request("GET", "/echo/carol/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

// -- connections --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(keep_alive_serves_many_requests_on_one_connection) {
  fixture fx;
  client c{fx.port()};
  for (int i = 1; i <= 10; ++i) {
    auto r = c.request("GET", "/echo/kept/inc");
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(header(*r, "x-count"), std::to_string(i));
    BOOST_CHECK(r->keep_alive());
  }
  BOOST_CHECK_EQUAL(fx.srv->connections(), 1u);
  // "Connection: close" is honoured: answered, then closed.
  auto r = c.request("GET", "/echo/kept", {}, {{"Connection", "close"}});
  BOOST_REQUIRE(r);
  BOOST_CHECK(!r->keep_alive());
  BOOST_CHECK(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(pipelined_responses_keep_request_order) {
  fixture fx;
  client c{fx.port()};
  // The first is slow and the second is another object: it finishes first,
  // yet must be answered second.
  c.send(client::format("GET", "/echo/p/sleep?ms=150") +
         client::format("GET", "/echo/q/inc") +
         client::format("POST", "/echo/p/inc", "body-3"));
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) {
    auto r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200);
    urls.push_back(header(*r, "x-url"));
    if (i == 2)
      BOOST_CHECK_EQUAL(r->body(), "body-3");
  }
  BOOST_CHECK_EQUAL(urls[0], "/echo/p/sleep?ms=150");
  BOOST_CHECK_EQUAL(urls[1], "/echo/q/inc");
  BOOST_CHECK_EQUAL(urls[2], "/echo/p/inc");
  // Many at once, more than the per-connection limit.
  std::string burst;
  for (int i = 0; i < 100; ++i)
    burst += client::format("GET", "/echo/burst/inc");
  c.send(burst);
  for (int i = 1; i <= 100; ++i) {
    auto r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(header(*r, "x-count"), std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE(many_concurrent_clients) {
  fixture fx;
  constexpr int clients = 50;
  constexpr int rounds = 10;
  std::atomic<int> failures{0};
  std::mutex mtx;
  std::set<int> shared_counts;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      client c{fx.port()};
      auto own = "/echo/own-" + std::to_string(i) + "/inc";
      for (int k = 1; k <= rounds; ++k) {
        auto r = c.request("GET", own);
        if (!r || header(*r, "x-count") != std::to_string(k))
          ++failures;
        r = c.request("GET", "/echo/shared/inc");
        if (!r || r->result_int() != 200) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> guard{mtx};
        shared_counts.insert(std::stoi(header(*r, "x-count")));
      }
    });
  for (auto& t : threads)
    t.join();
  BOOST_CHECK_EQUAL(failures.load(), 0);
  // Every increment of the shared object was seen exactly once.
  BOOST_CHECK_EQUAL(shared_counts.size(), size_t{clients * rounds});
  BOOST_CHECK_EQUAL(*shared_counts.begin(), 1);
  BOOST_CHECK_EQUAL(*shared_counts.rbegin(), clients * rounds);
}

// -- client errors ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_ids_get_400_with_the_reference_text) {
  fixture fx;
  client c{fx.port()};
  auto hex = fx.ns.id_from_name("x").to_string();
  for (auto target : std::vector<std::string>{
           "/echo/id/xyz", "/echo/id/" + hex.substr(1) + "/a",
           "/echo/id/" + hex + "0", "/echo/id", "/echo/id/"}) {
    auto r = c.request("GET", target);
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 400);
    BOOST_CHECK_EQUAL(header(*r, "content-type"), "application/json");
    BOOST_CHECK_EQUAL(
        r->body(),
        error_body("Invalid Durable Object ID: must be 64 hex digits"));
  }
  // Well-formed, but made by another namespace, or forged.
  auto other = fixture::must(fx.dep.bind<echo>("other"));
  auto forged = hex;
  forged[63] = forged[63] == '0' ? '1' : '0';
  for (auto& foreign : {other.id_from_name("x").to_string(), forged}) {
    auto r = c.request("GET", "/echo/id/" + foreign + "/inc");
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 400);
    BOOST_CHECK_EQUAL(
        r->body(),
        error_body("Durable Object ID is not valid for this namespace."));
  }
  // Client errors keep the connection.
  auto r = c.request("GET", "/echo/id/" + hex + "/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

BOOST_AUTO_TEST_CASE(unknown_bindings_get_404) {
  fixture fx;
  client c{fx.port()};
  auto r = c.request("GET", "/nope/alice/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 404);
  BOOST_CHECK_EQUAL(r->body(), error_body("no binding named \\\"nope\\\""));
  r = c.request("GET", "/");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 404);
  r = c.request("GET", "/ECHO/alice");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 404);
  r = c.request("GET", "http://host/echo/alice");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 400);
  r = c.request("GET", "/echo/alice/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
}

BOOST_AUTO_TEST_CASE(oversized_bodies_get_413) {
  durable::http::server_options opts;
  opts.body_limit = 1000;
  fixture fx{opts};
  {
    client c{fx.port()};
    auto r = c.request("POST", "/echo/big", std::string(1000, 'x'));
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200);
    BOOST_CHECK_EQUAL(r->body().size(), 1000u);
    // Refused from the announced length alone, the body never read.
    c.send("POST /echo/big HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
    r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 413);
    BOOST_CHECK(!r->keep_alive());
    BOOST_CHECK_EQUAL(r->body(),
                      error_body("request body larger than 1000 bytes"));
    BOOST_CHECK(c.closed_by_server());
  }
  {
    // A chunked body is cut off once it passes the limit, even sent whole.
    client c{fx.port()};
    c.send("POST /echo/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           "7d0\r\n" +
           std::string(2000, 'y') + "\r\n0\r\n\r\n");
    auto r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 413);
  }
  // The object saw only the accepted request.
  client c{fx.port()};
  auto r = c.request("GET", "/echo/big/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_the_server_goes_on) {
  fixture fx;
  for (std::string junk : std::vector<std::string>{
           "GARBAGE\r\n\r\n", "GET /echo/a HTTP/9.1\r\n\r\n",
           "GET /echo/a HTTP/1.1\r\nbad header\r\n\r\n",
           "POST /echo/a HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
           std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
               "\r\n\r\n"}) {
    client c{fx.port()};
    c.send(junk);
    auto r = c.read();
    BOOST_REQUIRE_MESSAGE(r, "no response to " << junk);
    BOOST_CHECK_EQUAL(r->result_int(), 400);
    BOOST_CHECK(!r->keep_alive());
    BOOST_CHECK(c.closed_by_server());
  }
  {
    // A valid request before the junk is still answered, in order.
    client c{fx.port()};
    c.send(client::format("GET", "/echo/m/inc") + "JUNK JUNK JUNK\r\n\r\n");
    auto r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200);
    r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 400);
  }
  {
    client c{fx.port()};
    c.send("GET /echo/a HTTP/1.1\r\nx-long: " + std::string(20000, 'z') +
           "\r\n\r\n");
    auto r = c.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 431);
  }
  client c{fx.port()};
  auto r = c.request("GET", "/echo/m/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "2");
}

// -- object errors ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exceptions_become_500_with_remote) {
  fixture fx;
  client c{fx.port()};
  auto r = c.request("GET", "/echo/t/inc");
  BOOST_REQUIRE(r);
  r = c.request("GET", "/echo/t/throw");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 500);
  BOOST_CHECK_EQUAL(header(*r, "content-type"), "application/json");
  BOOST_CHECK_EQUAL(r->body(),
                    error_body("boom: /echo/t/throw", false, false, true));
  // The object kept its state, the connection is fine.
  r = c.request("GET", "/echo/t");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

BOOST_AUTO_TEST_CASE(overload_becomes_503) {
  durable::namespace_options ns_opts;
  ns_opts.max_queued = 1;
  fixture fx{{}, ns_opts};
  client busy{fx.port()};
  busy.send(client::format("GET", "/echo/hot/sleep?ms=400"));
  BOOST_REQUIRE([&] {
    for (int i = 0; i < 2000 && sleeping == 0; ++i)
      std::this_thread::sleep_for(1ms);
    return sleeping == 1;
  }());
  client c{fx.port()};
  auto r = c.request("GET", "/echo/hot/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 503);
  BOOST_CHECK_EQUAL(
      r->body(),
      error_body("Durable Object is overloaded. Too many requests queued.",
                 false, true, false));
  r = busy.read();
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  r = c.request("GET", "/echo/hot/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
}

BOOST_AUTO_TEST_CASE(slow_objects_become_504) {
  durable::http::server_options opts;
  opts.request_timeout = 150ms;
  fixture fx{opts};
  client c{fx.port()};
  auto r = c.request("GET", "/echo/slow/sleep?ms=500");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 504);
  BOOST_CHECK_EQUAL(
      r->body(),
      error_body("Durable Object did not answer within 150 ms", true));
  r = c.request("GET", "/echo/other/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
}

// -- lifetime -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(idle_and_slow_clients_are_disconnected) {
  durable::http::server_options opts;
  opts.read_timeout = 200ms;
  fixture fx{opts};
  client idle{fx.port()};
  auto r = idle.request("GET", "/echo/i/inc");
  BOOST_REQUIRE(r);
  client partial{fx.port()};
  partial.send("GET /echo/i/inc HTTP/1.1\r\nHost: t\r\n");
  auto start = now();
  BOOST_CHECK(idle.closed_by_server());
  BOOST_CHECK(partial.closed_by_server());
  BOOST_CHECK(now() - start < 2s);
  // The object waits longer than the read timeout: not the client's fault.
  client waiting{fx.port()};
  r = waiting.request("GET", "/echo/w/sleep?ms=500");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
}

BOOST_AUTO_TEST_CASE(stop_answers_in_flight_requests_then_closes) {
  fixture fx;
  client idle{fx.port()};
  BOOST_REQUIRE(idle.request("GET", "/echo/s/inc"));
  client busy{fx.port()};
  busy.send(client::format("GET", "/echo/s/sleep?ms=300"));
  BOOST_REQUIRE([&] {
    for (int i = 0; i < 2000 && sleeping == 0; ++i)
      std::this_thread::sleep_for(1ms);
    return sleeping == 1;
  }());
  auto start = now();
  fx.srv->stop();
  BOOST_CHECK(now() - start < 2s);
  auto r = busy.read();
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 200);
  BOOST_CHECK(!r->keep_alive());
  BOOST_CHECK(idle.closed_by_server());
  BOOST_CHECK_THROW(client{fx.port()}, boost::system::system_error);
  fx.srv->stop(); // idempotent
}

BOOST_AUTO_TEST_CASE(stop_does_not_wait_forever_for_objects) {
  durable::http::server_options opts;
  opts.shutdown_timeout = 100ms;
  fixture fx{opts};
  client busy{fx.port()};
  busy.send(client::format("GET", "/echo/z/sleep?ms=800"));
  BOOST_REQUIRE([&] {
    for (int i = 0; i < 2000 && sleeping == 0; ++i)
      std::this_thread::sleep_for(1ms);
    return sleeping == 1;
  }());
  auto start = now();
  fx.srv.reset();
  BOOST_CHECK(now() - start < 700ms);
  BOOST_CHECK(busy.closed_by_server());
}

BOOST_AUTO_TEST_CASE(configuration_errors) {
  fixture fx;
  durable::http::server late{fx.sys};
  BOOST_CHECK(late.bind("a/b", fx.ns));
  BOOST_CHECK(late.bind("", fx.ns));
  BOOST_CHECK(!late.bind("echo-2", fx.ns));
  BOOST_CHECK(late.bind("echo-2", fx.ns));
  // The port is taken by the fixture's server.
  durable::http::server_options opts;
  opts.port = fx.port();
  durable::http::server clash{fx.sys, opts};
  auto err = clash.start();
  BOOST_REQUIRE(err);
  BOOST_CHECK(durable::is_retryable(err));
  opts.port = 0;
  opts.address = "not an address";
  BOOST_CHECK((durable::http::server{fx.sys, opts}.start()));
  BOOST_CHECK(!late.start());
  BOOST_CHECK(late.start());
  BOOST_CHECK(late.bind("later", fx.ns));
  client c{late.port()};
  auto r = c.request("GET", "/echo-2/x/inc");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(header(*r, "x-count"), "1");
  // A server that never started stops at once.
  durable::http::server never{fx.sys};
}
