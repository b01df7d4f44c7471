// Shutdown under load: destroying (or shutting down) a deployment while
// clients call writing objects finishes in bounded time, answers every
// caller (a value or a clear "shutting down" error, never a timeout) and
// never crashes (the last reference to the storage engine may drop on its
// own commit writer's thread).

#define BOOST_TEST_MODULE shutdown
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

/// What the callers saw.
struct outcomes {
  std::atomic<int64_t> values{0};
  std::atomic<int64_t> shutting_down{0};
  std::atomic<int64_t> other{0};
  std::atomic<int64_t> timeouts{0};
};

void classify(const caf::expected<int64_t>& x, outcomes& out) {
  if (x) {
    ++out.values;
  } else if (x.error() == caf::sec::request_timeout) {
    ++out.timeouts;
  } else if (durable::is(x.error(), durable::errc::unavailable)) {
    ++out.shutting_down;
  } else {
    ++out.other;
    BOOST_TEST_MESSAGE("other error: " << durable::message_of(x.error()));
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(destroying_the_deployment_under_load_answers_everyone) {
  temp_dir dir;
  constexpr int rounds = 50;
  constexpr int threads = 8;
  outcomes total;
  for (int round = 0; round < rounds; ++round) {
    durable::config cfg;
    cfg.set("scheduler.max-threads", 2);
    caf::actor_system sys{cfg};
    auto s = test_settings();
    s.data_dir = dir.path + "/data";
    std::optional<durable::deployment> dep;
    dep.emplace(fixture::open(sys, s));
    auto ns = dep->bind<writer>("writer");
    BOOST_REQUIRE(ns);
    auto target = ns->get_by_name("w" + std::to_string(round % 4));
    std::atomic<bool> stop{false};
    std::atomic<int64_t> calls{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
      clients.emplace_back([&, t] {
        for (int64_t i = 0; !stop; ++i) {
          // Far below the timeout: an unanswered call shows up as a timeout.
          auto x = target.call(20s, write_atom::value, t * 1000000 + i);
          classify(x, total);
          ++calls;
          if (!x)
            break;
        }
      });
    // Let the load build up, then pull the deployment away under it.
    while (calls.load() < 50 * (round % 5 + 1))
      std::this_thread::yield();
    auto before = std::chrono::steady_clock::now();
    dep.reset();
    auto took = std::chrono::steady_clock::now() - before;
    BOOST_CHECK_MESSAGE(
        took < 15s, "shutdown took "
                        << std::chrono::duration<double>(took).count() << " s");
    stop = true;
    for (auto& th : clients)
      th.join();
  }
  BOOST_TEST_MESSAGE("values " << total.values << ", shutting down "
                               << total.shutting_down << ", other "
                               << total.other);
  BOOST_CHECK_EQUAL(total.timeouts.load(), 0);
  BOOST_CHECK_EQUAL(total.other.load(), 0);
  BOOST_CHECK_GT(total.values.load(), 0);
  BOOST_CHECK_GT(total.shutting_down.load(), 0);
}

BOOST_AUTO_TEST_CASE(acknowledged_writes_survive_the_shutdown) {
  temp_dir dir;
  auto s = test_settings();
  s.data_dir = dir.path + "/data";
  std::atomic<int64_t> last_acked{-1};
  {
    durable::config cfg;
    cfg.set("scheduler.max-threads", 2);
    caf::actor_system sys{cfg};
    auto dep = fixture::open(sys, s);
    auto target = (*dep.bind<writer>("writer")).get_by_name("solo");
    std::thread client{[&] {
      for (int64_t i = 0;; ++i) {
        auto x = target.call(20s, write_atom::value, i);
        if (!x)
          return;
        last_acked = *x;
      }
    }};
    while (last_acked.load() < 200)
      std::this_thread::yield();
    dep.shutdown();
    client.join();
  }
  durable::config cfg;
  caf::actor_system sys{cfg};
  auto dep = fixture::open(sys, s);
  // The last acknowledged value (or the one after it, committed while its
  // caller was told "shutting down") is what a fresh instance reads.
  auto ns = *dep.bind<writer>("writer");
  auto stored = ns.get_by_name("solo").call(5s, get_atom::value);
  BOOST_REQUIRE(stored);
  BOOST_CHECK_GE(last_acked.load(), 200);
  BOOST_CHECK_GE(*stored, last_acked.load());
  BOOST_CHECK_LE(*stored, last_acked.load() + 1);
}
