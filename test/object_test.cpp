// End-to-end tests of the object runtime: spawning on first message, one
// live actor per ID, idle eviction, overload, exceptions and stubs.

#define BOOST_TEST_MODULE object
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <thread>
#include <vector>

#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

durable::object_namespace<counter_api>
counters(fixture& fx, durable::namespace_options o = {}) {
  return fx.bind<counter>("counter", o);
}

} // namespace

BOOST_AUTO_TEST_CASE(first_message_spawns_the_object) {
  fixture fx;
  auto ns = counters(fx);
  auto id = ns.id_from_name("alice");
  auto stub = ns.get(id);
  BOOST_REQUIRE(stub);
  auto by_name = ns.get_by_name("bob");
  // Making IDs and stubs creates nothing.
  BOOST_CHECK_EQUAL(ns.live_objects(), 0u);
  BOOST_CHECK_EQUAL(registry::get().constructions(id), 0);
  auto x = stub->call(5s, inc_atom::value);
  BOOST_REQUIRE(x);
  BOOST_CHECK_EQUAL(*x, 1);
  BOOST_CHECK_EQUAL(ns.live_objects(), 1u);
  BOOST_CHECK_EQUAL(*stub->call(5s, inc_atom::value), 2);
  BOOST_CHECK_EQUAL(*by_name.call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(ns.live_objects(), 2u);
  BOOST_CHECK_EQUAL(registry::get().constructions(id), 1);
}

BOOST_AUTO_TEST_CASE(racing_first_messages_meet_one_actor) {
  fixture fx;
  auto ns = counters(fx);
  constexpr int senders = 200;
  auto target = ns.get_by_name("contended");
  std::vector<int64_t> results;
  std::mutex mtx;
  {
    // Event-based senders spawned at once, each sending its first message
    // as soon as it runs: they race on the spawn.
    for (int i = 0; i < senders; ++i)
      fx.sys.spawn([&, target](caf::event_based_actor* self) {
        target.request(self, 10s, inc_atom::value).then([&](int64_t x) {
          std::lock_guard<std::mutex> guard{mtx};
          results.push_back(x);
        });
      });
    BOOST_REQUIRE(eventually([&] {
      std::lock_guard<std::mutex> guard{mtx};
      return results.size() == senders;
    }));
  }
  BOOST_CHECK_EQUAL(registry::get().constructions(target.id()), 1);
  std::set<int64_t> distinct(results.begin(), results.end());
  BOOST_CHECK_EQUAL(distinct.size(), static_cast<size_t>(senders));
  BOOST_CHECK_EQUAL(*distinct.begin(), 1);
  BOOST_CHECK_EQUAL(*distinct.rbegin(), senders);
  BOOST_CHECK_EQUAL(registry::get().overlaps.load(), 0);
}

BOOST_AUTO_TEST_CASE(racing_first_messages_from_threads) {
  fixture fx;
  auto ns = counters(fx);
  for (int round = 0; round < 20; ++round) {
    auto target = ns.get_by_name("threaded-" + std::to_string(round));
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&] {
        if (auto x = target.call(10s, inc_atom::value))
          ++ok;
      });
    for (auto& t : threads)
      t.join();
    BOOST_CHECK_EQUAL(ok.load(), 8);
    BOOST_CHECK_EQUAL(registry::get().constructions(target.id()), 1);
    BOOST_CHECK_EQUAL(*target.call(10s, get_atom::value), 8);
  }
}

BOOST_AUTO_TEST_CASE(exceptions_reach_the_caller_and_keep_the_object) {
  fixture fx;
  auto ns = counters(fx);
  auto stub = ns.get_by_name("thrower");
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 1);
  auto x = stub.call(5s, throw_atom::value);
  BOOST_REQUIRE(!x);
  BOOST_CHECK(durable::is_remote(x.error()));
  BOOST_CHECK(!durable::is_object_reset(x.error()));
  BOOST_CHECK_EQUAL(durable::message_of(x.error()), "boom from thrower");
  // Not reset: the state survived and no second instance was made.
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 2);
  BOOST_CHECK_EQUAL(registry::get().constructions(stub.id()), 1);
}

BOOST_AUTO_TEST_CASE(idle_objects_are_evicted_and_recreated) {
  fixture fx;
  auto ns = counters(fx, {20ms, 0});
  auto stub = ns.get_by_name("sleepy");
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 2);
  BOOST_REQUIRE(eventually([&] { return ns.live_objects() == 0; }));
  // In-memory state is gone (storage keeps state, see the storage suite).
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(registry::get().constructions(stub.id()), 2);
}

BOOST_AUTO_TEST_CASE(busy_objects_are_not_evicted) {
  fixture fx;
  auto ns = counters(fx, {30ms, 0});
  auto stub = ns.get_by_name("busy");
  auto deadline = std::chrono::steady_clock::now() + 300ms;
  int64_t expected = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    BOOST_REQUIRE_EQUAL(*stub.call(5s, inc_atom::value), ++expected);
    std::this_thread::sleep_for(2ms);
  }
  BOOST_CHECK_EQUAL(registry::get().constructions(stub.id()), 1);
}

struct eviction_client {
  counter_stub target;
  int left;
  std::atomic<int>* ok;
  std::atomic<int>* failed;
};

void eviction_step(caf::event_based_actor* self,
                   std::shared_ptr<eviction_client> st) {
  st->target.request(self, 10s, inc_atom::value)
      .then(
          [=](int64_t) {
            ++*st->ok;
            if (--st->left == 0)
              return self->quit();
            // Vary the gap so sends land before, during and after evictions.
            auto gap = std::chrono::microseconds{(st->left * 37) % 1500};
            self->delayed_send(self, gap, caf::atom("next"));
          },
          [=](caf::error&) {
            ++*st->failed;
            if (--st->left == 0)
              return self->quit();
            eviction_step(self, st);
          });
}

BOOST_AUTO_TEST_CASE(messages_racing_eviction_are_not_lost) {
  fixture fx;
  // A tiny timeout so that evictions happen all the time between messages.
  auto ns = counters(fx, {std::chrono::microseconds{500}, 0});
  constexpr int clients = 16;
  constexpr int per_client = 300;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int c = 0; c < clients; ++c) {
    auto st = std::make_shared<eviction_client>(
        eviction_client{ns.get_by_name("evictee-" + std::to_string(c % 4)),
                        per_client, &ok, &failed});
    fx.sys.spawn([st](caf::event_based_actor* self) -> caf::behavior {
      eviction_step(self, st);
      return {[self, st](caf::atom_value) { eviction_step(self, st); }};
    });
  }
  BOOST_REQUIRE(
      eventually([&] { return ok + failed == clients * per_client; }, 60s));
  BOOST_CHECK_EQUAL(failed.load(), 0);
  BOOST_CHECK_EQUAL(ok.load(), clients * per_client);
  BOOST_CHECK_EQUAL(registry::get().handled.load(), clients * per_client);
  BOOST_CHECK_EQUAL(registry::get().overlaps.load(), 0);
  // The race was exercised: objects were evicted and recreated.
  int constructions = 0;
  for (int i = 0; i < 4; ++i)
    constructions += registry::get().constructions(
        ns.id_from_name("evictee-" + std::to_string(i)));
  BOOST_TEST_MESSAGE("constructions: " << constructions);
  BOOST_CHECK_GT(constructions, 4);
}

BOOST_AUTO_TEST_CASE(overload_fails_fast) {
  fixture fx;
  auto ns = counters(fx, {0ms, 10});
  auto stub = ns.get_by_name("hot");
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 1); // spawn it first
  caf::scoped_actor self{fx.sys};
  int ok = 0;
  int overloaded = 0;
  auto count = [&](caf::error& err) {
    BOOST_CHECK(durable::is_overloaded(err));
    BOOST_CHECK(!durable::is_retryable(err));
    BOOST_CHECK_EQUAL(durable::message_of(err),
                      "Durable Object is overloaded. Too many requests "
                      "queued.");
    ++overloaded;
  };
  // The first request keeps the object busy while the rest queue up.
  using handle_type = decltype(stub.request(self.ptr(), 10s, get_atom::value));
  std::vector<handle_type> handles;
  handles.push_back(stub.request(self.ptr(), 10s, sleep_atom::value, 1000));
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 50; ++i)
    handles.push_back(stub.request(self.ptr(), 10s, inc_atom::value));
  for (auto& hdl : handles)
    hdl.receive([&](int64_t) { ++ok; }, count);
  BOOST_CHECK_EQUAL(ok, 10);
  BOOST_CHECK_EQUAL(overloaded, 41);
  // The queue drains and the object serves again.
  BOOST_CHECK_EQUAL(*stub.call(5s, get_atom::value), 10);
}

BOOST_AUTO_TEST_CASE(stubs_travel_in_messages_between_objects) {
  fixture fx;
  auto ns = counters(fx);
  auto relays = fx.bind<relay>("relay");
  auto target = ns.get_by_name("target");
  auto via = relays.get_by_name("relay-1");
  BOOST_CHECK_EQUAL(*via.call(5s, call_atom::value, target), 1000);
  BOOST_CHECK_EQUAL(*via.call(5s, call_atom::value, target), 2000);
  BOOST_CHECK_EQUAL(*target.call(5s, get_atom::value), 2);
}

BOOST_AUTO_TEST_CASE(stubs_from_event_based_actors) {
  fixture fx;
  auto ns = counters(fx);
  auto target = ns.get_by_name("from-actor");
  std::promise<int64_t> result;
  fx.sys.spawn([&, target](caf::event_based_actor* self) {
    target.request(self, 5s, inc_atom::value).then([&, target, self](int64_t) {
      target.request(self, 5s, inc_atom::value).then([&](int64_t x) {
        result.set_value(x);
      });
    });
  });
  auto fut = result.get_future();
  BOOST_REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  BOOST_CHECK_EQUAL(fut.get(), 2);
}

BOOST_AUTO_TEST_CASE(fetch_carries_method_url_headers_body) {
  fixture fx;
  auto ns = counters(fx);
  auto stub = ns.get_by_name("web");
  durable::fetch_request req;
  req.method = "POST";
  req.url = "/counter/web/inc?by=2";
  req.headers = {{"x-tag", "t1"}};
  req.body = "hello";
  auto resp = stub.fetch(5s, req);
  BOOST_REQUIRE(resp);
  BOOST_CHECK_EQUAL(resp->status, 200);
  BOOST_CHECK_EQUAL(resp->body, "POST /counter/web/inc?by=2 hello");
  BOOST_REQUIRE(resp->header("X-TAG"));
  BOOST_CHECK_EQUAL(*resp->header("X-TAG"), "t1");
  BOOST_CHECK_EQUAL(*resp->header("x-object"), "web");
}

BOOST_AUTO_TEST_CASE(shutdown_makes_stubs_unavailable) {
  fixture fx;
  auto ns = counters(fx);
  auto stub = ns.get_by_name("late");
  BOOST_CHECK_EQUAL(*stub.call(5s, inc_atom::value), 1);
  fx.dep.shutdown();
  auto x = stub.call(5s, inc_atom::value);
  BOOST_REQUIRE(!x);
  BOOST_CHECK(durable::is(x.error(), durable::errc::unavailable));
  BOOST_CHECK(durable::is_retryable(x.error()));
  BOOST_CHECK_EQUAL(ns.live_objects(), 0u);
}

BOOST_AUTO_TEST_CASE(errors_render_with_category_and_text) {
  fixture fx;
  auto err = durable::make_error(durable::errc::overloaded);
  BOOST_CHECK_EQUAL(fx.sys.render(err),
                    "durable::overloaded: Durable Object is overloaded. Too "
                    "many requests queued.");
}
