#define BOOST_TEST_MODULE rate_limiter
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "../examples/rate_limiter/rate_limiter.hpp"
#include "durable/deployment.hpp"
#include "durable/http_server.hpp"
#include "http_client.hpp"

using namespace example;
using namespace std::chrono_literals;
using limiter_ns = durable::object_namespace<limiter_api>;

namespace {

struct fixture {
  durable::config cfg;
  caf::actor_system sys;
  std::string dir;
  std::optional<durable::deployment> dep;
  limiter_ns ns;

  fixture()
      : sys(init(cfg)),
        dir("/tmp/durable-limiter-test-" + std::to_string(::getpid())) {
    open();
  }

  ~fixture() {
    dep->shutdown();
    std::filesystem::remove_all(dir);
  }

  static durable::config& init(durable::config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  void open() {
    durable::settings s;
    s.data_dir = dir;
    s.secret_hex = std::string(64, 'b');
    dep.emplace(must(durable::deployment::open(sys, s)));
    ns = must(dep->bind<rate_limiter>("rate-limiter"));
  }

  take_result take(const std::string& key, uint32_t n = 1) {
    return must(ns.get_by_name(key).call(10s, take_atom::value, n));
  }

  bool stored(const std::string& key) {
    return must(ns.get_by_name(key).call(10s, stored_atom::value));
  }

  template <class T>
  static T must(caf::expected<T> x) {
    if (!x)
      throw std::runtime_error(durable::message_of(x.error()));
    return std::move(*x);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(rate_limiter_suite, fixture)

BOOST_AUTO_TEST_CASE(takes_beyond_the_bucket_wait_for_the_refill) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(take("k").allowed);
  // The bucket refills while we take: at most that many more fit.
  auto extra = static_cast<int>(seconds_since(t0) * 5) + 1;
  take_result refused;
  for (int i = 0; i <= extra && (refused = take("k")).allowed; ++i)
    continue;
  BOOST_REQUIRE(!refused.allowed);
  BOOST_CHECK_EQUAL(refused.remaining, 0u);
  BOOST_CHECK_GT(refused.retry_after_ms, 0u);
  BOOST_CHECK_LE(refused.retry_after_ms, 200u); // One token at 5 per second.
  std::this_thread::sleep_for(
      std::chrono::milliseconds{refused.retry_after_ms + 5});
  BOOST_CHECK(take("k").allowed);
  // Asking for more than the bucket holds is an error, not a refusal.
  auto big = ns.get_by_name("k").call(10s, take_atom::value, uint32_t{11});
  BOOST_REQUIRE(!big);
  BOOST_CHECK(durable::message_of(big.error()).find("1 to 10") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_actor_firing_takes_at_once_gets_exactly_the_bucket) {
  // 30 requests sent without waiting; the object takes them one at a time.
  std::atomic<int> allowed{0}, refused{0}, failed{0};
  auto t0 = std::chrono::steady_clock::now();
  auto bucket = ns.get_by_name("burst");
  auto client = sys.spawn([&, bucket](caf::event_based_actor* self) {
    for (int i = 0; i < 30; ++i)
      bucket.request(self, 10s, take_atom::value, uint32_t{1})
          .then(
              [&](const take_result& x) {
                ++(x.allowed ? allowed : refused);
                if (!x.allowed && x.retry_after_ms == 0)
                  ++failed;
              },
              [&](caf::error&) { ++failed; });
  });
  caf::scoped_actor {
    sys
    } -> wait_for(client);
  auto elapsed = seconds_since(t0);
  BOOST_CHECK_EQUAL(failed.load(), 0);
  BOOST_CHECK_EQUAL(allowed + refused, 30);
  BOOST_CHECK_GE(allowed.load(), 10);
  BOOST_CHECK_LE(allowed.load(), 10 + static_cast<int>(elapsed * 5) + 1);
}

BOOST_AUTO_TEST_CASE(an_empty_bucket_stays_empty_across_a_restart) {
  BOOST_REQUIRE(take("durable", 10).allowed);
  dep->shutdown();
  ns = limiter_ns{}; // The namespace holds the storage engine open.
  dep.reset();
  open();
  auto x = take("durable");
  if (x.allowed) // Only what refilled meanwhile: never the whole bucket.
    BOOST_CHECK_LT(x.remaining, 9u);
  else
    BOOST_CHECK_GT(x.retry_after_ms, 0u);
}

BOOST_AUTO_TEST_CASE(a_full_bucket_is_forgotten_by_its_alarm) {
  BOOST_REQUIRE(take("idle", 2).allowed);
  BOOST_REQUIRE(stored("idle"));
  // Two tokens refill in 400 ms; the alarm then deletes the bucket.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (stored("idle") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  BOOST_CHECK(!stored("idle"));
  auto x = take("idle");
  BOOST_CHECK(x.allowed);
  BOOST_CHECK_EQUAL(x.remaining, 9u);
}

BOOST_AUTO_TEST_CASE(http_takes_get_429_with_retry_after) {
  durable::http::server srv{sys};
  BOOST_REQUIRE(!srv.bind("limit", ns));
  BOOST_REQUIRE(!srv.start());
  durable::test::client c{srv.port()};
  auto exchange = [&](const std::string& method, const std::string& target) {
    c.send(method + " " + target +
           " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    auto res = c.read();
    BOOST_REQUIRE(res);
    return *res;
  };
  auto full = exchange("POST", "/limit/web/take?n=10");
  BOOST_CHECK_EQUAL(full.result_int(), 200);
  auto body = nlohmann::json::parse(full.body());
  BOOST_CHECK_EQUAL(body["allowed"], true);
  BOOST_CHECK_EQUAL(body["remaining"], 0);
  auto empty = exchange("POST", "/limit/web/take?n=5");
  BOOST_CHECK_EQUAL(empty.result_int(), 429);
  BOOST_CHECK_EQUAL(durable::test::header(empty, "retry-after"), "1");
  body = nlohmann::json::parse(empty.body());
  BOOST_CHECK_EQUAL(body["allowed"], false);
  BOOST_CHECK_GT(body["retry_after_ms"].get<int>(), 0);
  BOOST_CHECK_EQUAL(exchange("GET", "/limit/web").result_int(), 200);
  BOOST_CHECK_EQUAL(exchange("GET", "/limit/web/take").result_int(), 405);
  BOOST_CHECK_EQUAL(exchange("POST", "/limit/web/take?n=0").result_int(), 400);
  BOOST_CHECK_EQUAL(exchange("POST", "/limit/web/take?n=x").result_int(), 400);
  srv.stop();
}

BOOST_AUTO_TEST_SUITE_END()
