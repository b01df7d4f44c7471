// Open-loop overload: senders that never wait, far above what the objects
// can handle, against one object and against 10 000. Admission is decided
// before anything is queued, so memory stays bounded (the figures are the
// test's limits), callers get explicit "overloaded" errors instead of
// timeouts, and everything recovers once the load stops. Also: the bound on
// live objects evicts the least recently used idle objects and refuses new
// ones with "overloaded" at the limit.

#define BOOST_TEST_MODULE overload
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "process_memory.hpp"
#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Resident memory of this process in MiB.
double rss_mib() {
  return static_cast<double>(durable::test::rss_bytes()) / (1 << 20);
}

/// Samples RSS and the node's queue while a load runs.
struct watcher {
  explicit watcher(durable::deployment& dep) : dep_(dep), base(rss_mib()) {
    thread_ = std::thread{[this] {
      while (!stop_) {
        peak_rss = std::max(peak_rss.load(), rss_mib());
        auto q = dep_.node_load().queued;
        peak_queued = std::max(peak_queued.load(), q);
        std::this_thread::sleep_for(10ms);
      }
    }};
  }

  ~watcher() { finish(); }

  void finish() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  double growth() const { return peak_rss - base; }

  durable::deployment& dep_;
  double base;
  std::atomic<double> peak_rss{0};
  std::atomic<uint64_t> peak_queued{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Fires `per_tick` requests at `targets` every tick without waiting for
/// any reply, counting what comes back.
struct firehose_state {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> values{0};
  std::atomic<int64_t> overloaded{0};
  std::atomic<int64_t> other{0};
  std::atomic<bool> stop{false};
  std::string last_other;
};

caf::behavior firehose(caf::event_based_actor* self,
                       std::vector<durable::stub<writer_api>> targets,
                       int per_tick, std::shared_ptr<firehose_state> st) {
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        // Stops firing but stays to count the replies still on their way.
        if (st->stop) {
          if (st->values + st->overloaded + st->other == st->sent)
            self->quit();
          else
            self->delayed_send(self, 10ms, tick_atom::value);
          return;
        }
        for (int i = 0; i < per_tick; ++i) {
          auto& t = targets[(st->sent + i) % targets.size()];
          t.request(self, 60s, write_atom::value, int64_t{i})
              .then([st](int64_t) { ++st->values; },
                    [st](caf::error& err) {
                      if (durable::is_overloaded(err))
                        ++st->overloaded;
                      else
                        ++st->other;
                    });
        }
        st->sent += per_tick;
        self->send(self, tick_atom::value);
      },
  };
}

} // namespace

BOOST_AUTO_TEST_CASE(anon_senders_at_one_object_stay_bounded) {
  fixture fx;
  auto ns = fx.bind<writer>("writer", {70s, 2000});
  auto target = ns.get_by_name("hot");
  watcher w{fx.dep};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t)
    senders.emplace_back([&] {
      for (int64_t i = 0; !stop; ++i) {
        target.anon_send(write_atom::value, i);
        ++sent;
      }
    });
  std::this_thread::sleep_for(3s);
  stop = true;
  for (auto& th : senders)
    th.join();
  // Recovery: what was admitted drains and the object answers at once.
  BOOST_CHECK(eventually([&] { return fx.dep.node_load().queued == 0; }));
  auto x = target.call(5s, get_atom::value);
  BOOST_CHECK(x);
  w.finish();
  BOOST_TEST_MESSAGE("sent " << sent << ", peak queued " << w.peak_queued
                             << ", RSS growth " << w.growth() << " MiB");
  BOOST_CHECK_GT(sent.load(), 100000);
  // At most max-queued admitted by the instance plus max-queued waiting in
  // the namespace actor (while an instance is spawned): a few hundred bytes
  // each.
  BOOST_CHECK_LE(w.peak_queued.load(), 2u * 2000u);
  BOOST_CHECK_LT(w.growth(), 128.0 * durable::test::sanitizer_memory_factor);
}

BOOST_AUTO_TEST_CASE(open_loop_requests_get_overloaded_errors_not_timeouts) {
  fixture fx;
  auto ns = fx.bind<writer>("writer", {70s, 100});
  auto st = std::make_shared<firehose_state>();
  std::vector<durable::stub<writer_api>> one{ns.get_by_name("hot")};
  watcher w{fx.dep};
  fx.sys.spawn(firehose, one, 500, st);
  std::this_thread::sleep_for(2s);
  st->stop = true;
  BOOST_CHECK(eventually(
      [&] { return st->values + st->overloaded + st->other == st->sent; },
      30s));
  w.finish();
  BOOST_TEST_MESSAGE("sent " << st->sent << ", values " << st->values
                             << ", overloaded " << st->overloaded
                             << ", RSS growth " << w.growth() << " MiB");
  BOOST_CHECK_GT(st->overloaded.load(), 0);
  BOOST_CHECK_GT(st->values.load(), 0);
  BOOST_CHECK_EQUAL(st->other.load(), 0);
  // Mostly the sender's own response handlers for requests in flight.
  BOOST_CHECK_LT(w.growth(), 256.0 * durable::test::sanitizer_memory_factor);
  BOOST_CHECK_EQUAL(fx.dep.node_load().queued, 0u);
  BOOST_CHECK(ns.get_by_name("hot").call(5s, get_atom::value));
}

BOOST_AUTO_TEST_CASE(open_loop_load_on_10k_objects_is_bounded_by_the_node) {
  auto s = test_settings();
  s.max_queued_total = 1000;
  fixture fx{s};
  auto ns = fx.bind<writer>("writer", {70s, 1000});
  std::vector<durable::stub<writer_api>> targets;
  for (int i = 0; i < 10000; ++i)
    targets.push_back(ns.get_by_name("o-" + std::to_string(i)));
  auto st = std::make_shared<firehose_state>();
  watcher w{fx.dep};
  fx.sys.spawn(firehose, targets, 4000, st);
  std::this_thread::sleep_for(3s);
  st->stop = true;
  BOOST_CHECK(eventually(
      [&] { return st->values + st->overloaded + st->other == st->sent; },
      60s));
  w.finish();
  BOOST_TEST_MESSAGE("sent " << st->sent << ", values " << st->values
                             << ", overloaded " << st->overloaded
                             << ", peak queued " << w.peak_queued
                             << ", RSS growth " << w.growth() << " MiB");
  BOOST_CHECK_LE(w.peak_queued.load(), 1000u);
  BOOST_CHECK_GT(st->overloaded.load(), 0);
  BOOST_CHECK_GT(st->values.load(), 0);
  BOOST_CHECK_EQUAL(st->other.load(), 0);
  // 10 000 live objects (about 2 KiB each) plus 1 000 queued requests.
  BOOST_CHECK_LT(w.growth(), 256.0 * durable::test::sanitizer_memory_factor);
  BOOST_CHECK_EQUAL(fx.dep.node_load().queued, 0u);
  BOOST_CHECK(targets[1234].call(5s, get_atom::value));
}

BOOST_AUTO_TEST_CASE(live_objects_stay_under_the_node_limit) {
  auto s = test_settings();
  s.max_live_objects = 64;
  fixture fx{s};
  auto ns = fx.bind<writer>("writer");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> peak{0};
  std::thread sampler{[&] {
    while (!stop) {
      peak = std::max(peak.load(), fx.dep.node_load().live_objects);
      std::this_thread::sleep_for(1ms);
    }
  }};
  int values = 0;
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    auto x = ns.get_by_name("fresh-" + std::to_string(i))
                 .call(5s, write_atom::value, int64_t{i});
    if (x) {
      ++values;
    } else {
      BOOST_REQUIRE_MESSAGE(durable::is_overloaded(x.error()),
                            durable::message_of(x.error()));
      ++refused;
      std::this_thread::sleep_for(1ms);
    }
  }
  stop = true;
  sampler.join();
  BOOST_TEST_MESSAGE(values << " created, " << refused << " refused, peak "
                            << peak << " live");
  BOOST_CHECK_LE(peak.load(), 64u);
  BOOST_CHECK_LE(ns.live_objects(), 64u);
  // The least recently used idle objects made room for most of them.
  BOOST_CHECK_GT(values, 1000);
  // Evicted objects come back with their data.
  BOOST_REQUIRE(eventually([&] { return ns.live_objects() < 64; }));
  auto back = ns.get_by_name("fresh-3").call(5s, get_atom::value);
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(*back, 3);
}

BOOST_AUTO_TEST_CASE(an_instance_that_dies_with_work_queued_gives_slots_back) {
  fixture fx;
  auto ns = fx.bind<writer>("writer");
  auto target = ns.get_by_name("mortal");
  BOOST_REQUIRE(target.call(5s, write_atom::value, int64_t{1}));
  caf::scoped_actor self{fx.sys};
  target.send(self.ptr(), die_atom::value);
  using handle_type =
      decltype(target.request(self.ptr(), 10s, write_atom::value, int64_t{0}));
  std::vector<handle_type> pending;
  for (int64_t i = 0; i < 500; ++i)
    pending.push_back(target.request(self.ptr(), 10s, write_atom::value, i));
  int answered = 0;
  for (auto& hdl : pending)
    hdl.receive([&](int64_t) { ++answered; }, [&](caf::error&) { ++answered; });
  BOOST_CHECK_EQUAL(answered, 500);
  // The slots of the requests it never handled are free again.
  BOOST_CHECK(eventually([&] { return fx.dep.node_load().queued == 0; }));
  BOOST_CHECK(target.call(5s, get_atom::value));
}
