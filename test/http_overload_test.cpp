// Open-loop overload through the HTTP front door: clients that never wait for
// an answer before sending the next request (each connection pipelines its
// whole batch while a reader collects the answers) push far more than the
// objects can take, against one object and against 10 000. The server must
// stay within a memory bound, answer every request (the object's answer or
// an explicit 503 with "overloaded": true, never a timeout), and serve
// normally again once the load stops.

#define BOOST_TEST_MODULE http_overload
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "http_fixture.hpp"
#include "process_memory.hpp"

using namespace std::chrono_literals;

using namespace durable::test;

namespace {

constexpr size_t mib = size_t{1} << 20;

struct tally {
  std::atomic<size_t> ok{0};
  std::atomic<size_t> overloaded{0};
  std::atomic<size_t> other{0};
  std::atomic<size_t> missing{0};
};

/// `connections` clients each send `per_connection` requests (the target of
/// request j of connection i is `target(i, j)`) without waiting, while a
/// reader per connection sorts the answers into `result`.
void open_loop(uint16_t port, int connections, int per_connection,
               const std::function<std::string(int, int)>& target,
               tally& result) {
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i)
    threads.emplace_back([&, i] {
      std::string batch;
      for (int j = 0; j < per_connection; ++j)
        batch += client::format("GET", target(i, j));
      client c{port};
      std::thread writer{[&] { c.stream(batch, batch.size(), 10s); }};
      int answered = 0;
      for (; answered < per_connection; ++answered) {
        auto r = c.read();
        if (!r)
          break;
        if (r->result_int() == 200)
          ++result.ok;
        else if (r->result_int() == 503 &&
                 r->body().find("\"overloaded\":true") != std::string::npos)
          ++result.overloaded;
        else
          ++result.other;
      }
      result.missing += static_cast<size_t>(per_connection - answered);
      writer.join();
    });
  for (auto& t : threads)
    t.join();
}

/// Checks the outcome of an open-loop run: every request answered, by the
/// object or by an explicit overload 503, both seen, and resident memory
/// grown by less than `bound`; then, once the load is gone, that `targets`
/// get normal answers again.
void check_outcome(const char* what, fixture& fx, const tally& t, size_t growth,
                   size_t bound, const std::vector<std::string>& targets) {
  BOOST_TEST_MESSAGE(what << ": " << t.ok << " ok, " << t.overloaded
                          << " overloaded, " << t.other << " other, "
                          << t.missing << " unanswered; peak RSS growth "
                          << growth / mib << " MiB");
  BOOST_CHECK_EQUAL(t.missing.load(), 0u);
  BOOST_CHECK_EQUAL(t.other.load(), 0u);
  BOOST_CHECK_GT(t.overloaded.load(), 0u);
  BOOST_CHECK_GT(t.ok.load(), 0u);
  BOOST_CHECK_LT(growth, bound * sanitizer_memory_factor);
  BOOST_REQUIRE(eventually([&] { return fx.srv->pending_requests() == 0; }));
  client c{fx.port()};
  for (auto& target : targets) {
    auto r = c.request("GET", target);
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200);
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(open_loop_against_one_object) {
  durable::namespace_options ns_opts;
  ns_opts.max_queued = 100;
  fixture fx{{}, ns_opts};
  reset_peak_rss();
  auto before = rss_bytes();
  tally t;
  // 32 000 requests of 1 ms each at once: about 30 s of work for the object.
  open_loop(
      fx.port(), 32, 1000,
      [](int, int) { return std::string{"/echo/hot/sleep?ms=1"}; }, t);
  // 32 connections hold at most 32 requests each in flight (max_pipelined):
  // the memory of about 1 000 requests, their answers and the buffers.
  check_outcome("one object", fx, t, peak_rss_bytes() - before, 64 * mib,
                {"/echo/hot/inc", "/echo/hot/inc"});
}

BOOST_AUTO_TEST_CASE(open_loop_against_ten_thousand_objects) {
  durable::http::server_options opts;
  opts.max_in_flight = 256;
  fixture fx{opts};
  reset_peak_rss();
  auto before = rss_bytes();
  tally t;
  constexpr int objects = 10'000;
  open_loop(
      fx.port(), 32, 1000,
      [](int i, int j) {
        return "/echo/o" + std::to_string((i * 1000 + j) % objects) +
               "/sleep?ms=1";
      },
      t);
  // Besides what one object's load costs, up to 10 000 live objects.
  check_outcome("10 000 objects", fx, t, peak_rss_bytes() - before, 128 * mib,
                {"/echo/o1/inc", "/echo/o5000/inc", "/echo/o9999/inc",
                 "/echo/fresh/inc"});
}
