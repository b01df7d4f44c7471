// Alarms: one per object, stored with the turn, delivered by the deployment's
// scheduler even after eviction or restart, retried with backoff, dropped
// after 6 failed retries. The clock is injected: nothing sleeps for seconds.

#define BOOST_TEST_MODULE alarm
#include <boost/test/unit_test.hpp>

#include <future>
#include <optional>
#include <vector>

#include "alarm_scheduler.hpp"
#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

using set_atom = caf::atom_constant<caf::atom("set")>;
using runs_atom = caf::atom_constant<caf::atom("runs")>;
using when_atom = caf::atom_constant<caf::atom("when")>;
using repeat_atom = caf::atom_constant<caf::atom("repeat")>;
using block_atom = caf::atom_constant<caf::atom("block")>;

using alarm_api =
    caf::typed_actor<caf::replies_to<set_atom, int64_t>::with<bool>,
                     caf::replies_to<when_atom>::with<int64_t>,
                     caf::replies_to<runs_atom>::with<int64_t>,
                     caf::replies_to<repeat_atom, int64_t>::with<bool>,
                     caf::replies_to<block_atom>::with<bool>>;

/// Holds an object inside a handler until the test releases it.
struct gate {
  std::promise<void> opened;
  std::shared_future<void> open = opened.get_future().share();
  std::atomic<bool> entered{false};

  static std::shared_ptr<gate>& current() {
    static std::shared_ptr<gate> instance;
    return instance;
  }
};

/// The test's view of alarm deliveries, shared with the objects.
struct alarm_log {
  std::mutex mtx;
  std::vector<uint32_t> retry_counts;
  int fail_next = 0;

  static alarm_log& get() {
    static alarm_log instance;
    return instance;
  }

  size_t attempts() {
    std::lock_guard<std::mutex> guard{mtx};
    return retry_counts.size();
  }

  void reset(int failures) {
    std::lock_guard<std::mutex> guard{mtx};
    retry_counts.clear();
    fail_next = failures;
  }
};

class alarmed : public durable::object<alarm_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](set_atom, int64_t t) -> caf::result<bool> {
          if (auto err = storage().set_alarm(t))
            return err;
          return true;
        },
        [this](when_atom) -> int64_t {
          auto x = storage().get_alarm();
          return x && *x ? **x : -1;
        },
        [this](runs_atom) { return runs(); },
        [this](repeat_atom, int64_t every) {
          storage().put_value("every", every);
          return true;
        },
        [](block_atom) {
          auto g = gate::current();
          g->entered = true;
          g->open.wait();
          return true;
        },
    };
  }

  void alarm(const durable::alarm_info& info) override {
    auto& log = alarm_log::get();
    {
      std::lock_guard<std::mutex> guard{log.mtx};
      log.retry_counts.push_back(info.retry_count);
      if (log.fail_next > 0) {
        --log.fail_next;
        throw std::runtime_error("alarm failed on purpose");
      }
    }
    storage().put_value("runs", runs() + 1);
    auto every = storage().get_value<int64_t>("every");
    if (every && *every && **every > 0)
      storage().set_alarm(info.scheduled_time + **every);
  }

private:
  int64_t runs() {
    auto x = storage().get_value<int64_t>("runs");
    return x && *x ? **x : 0;
  }
};

/// A manual clock the scheduler reads.
struct manual_clock {
  std::shared_ptr<std::atomic<int64_t>> now =
      std::make_shared<std::atomic<int64_t>>(1'000'000);

  void advance(int64_t ms) { *now += ms; }

  durable::settings settings(const std::string& dir = "") const {
    auto cfg = test_settings();
    cfg.data_dir = dir;
    cfg.alarm_poll_interval = 2ms;
    cfg.clock = [t = now] { return t->load(); };
    return cfg;
  }
};

/// Gives the scheduler time for a few scans.
void settle() {
  std::this_thread::sleep_for(60ms);
}

} // namespace

BOOST_AUTO_TEST_CASE(alarms_fire_when_due_and_only_then) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(0);
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  auto t = clk.now->load() + 1000;
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, t));
  BOOST_CHECK_EQUAL(*obj.call(5s, when_atom::value), t);
  clk.advance(999);
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 0u);
  clk.advance(1);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 1; }));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
  BOOST_CHECK_EQUAL(*obj.call(5s, when_atom::value), -1);
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 1u);
}

BOOST_AUTO_TEST_CASE(alarm_times_must_be_positive) {
  manual_clock clk;
  fixture fx{clk.settings()};
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  for (int64_t t : {int64_t{0}, int64_t{-5}}) {
    auto x = obj.call(5s, set_atom::value, t);
    BOOST_REQUIRE(!x);
    BOOST_CHECK_EQUAL(durable::message_of(x.error()),
                      "setAlarm() cannot be called with an alarm time <= 0");
  }
  BOOST_CHECK_EQUAL(*obj.call(5s, when_atom::value), -1);
}

BOOST_AUTO_TEST_CASE(past_alarms_fire_at_once) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(0);
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, int64_t{1}));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
}

BOOST_AUTO_TEST_CASE(alarms_wake_evicted_objects) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(0);
  auto ns = fx.bind<alarmed>("alarmed", {20ms, 0});
  auto obj = ns.get_by_name("sleeper");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, clk.now->load() + 5000));
  BOOST_REQUIRE(eventually([&] { return ns.live_objects() == 0; }));
  clk.advance(5000);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 1; }));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
}

BOOST_AUTO_TEST_CASE(alarms_survive_a_restart) {
  manual_clock clk;
  temp_dir dir;
  alarm_log::get().reset(0);
  int64_t t = clk.now->load() + 60000;
  {
    fixture fx{clk.settings(dir.path + "/data")};
    auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
    BOOST_REQUIRE(*obj.call(5s, set_atom::value, t));
  }
  fixture fx{clk.settings(dir.path + "/data")};
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 0u);
  clk.advance(60000);
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
}

BOOST_AUTO_TEST_CASE(failing_alarms_back_off_exponentially) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(2);
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, clk.now->load()));
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 1; }));
  // The failed turn kept the alarm.
  BOOST_CHECK_NE(*obj.call(5s, when_atom::value), -1);
  clk.advance(1999); // first retry after 2 s (+ up to 25 % jitter)
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 1u);
  clk.advance(501);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 2; }));
  clk.advance(3999); // second retry after 4 s
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 2u);
  clk.advance(1001);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 3; }));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
  std::lock_guard<std::mutex> guard{alarm_log::get().mtx};
  BOOST_CHECK(
      (alarm_log::get().retry_counts == std::vector<uint32_t>{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(alarms_are_dropped_after_six_retries) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(1000);
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, clk.now->load()));
  for (size_t attempt = 1; attempt <= 7; ++attempt) {
    BOOST_REQUIRE_MESSAGE(
        eventually([&] { return alarm_log::get().attempts() == attempt; }),
        "attempt " << attempt);
    clk.advance(200'000); // beyond any backoff
  }
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, when_atom::value) == -1; }));
  clk.advance(200'000);
  settle();
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 7u);
  BOOST_CHECK_EQUAL(*obj.call(5s, runs_atom::value), 0);
  std::lock_guard<std::mutex> guard{alarm_log::get().mtx};
  BOOST_CHECK((alarm_log::get().retry_counts ==
               std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6}));
}

BOOST_AUTO_TEST_CASE(an_alarm_can_set_the_next_one) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(0);
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  BOOST_REQUIRE(*obj.call(5s, repeat_atom::value, int64_t{1000}));
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, clk.now->load() + 1000));
  for (int64_t i = 1; i <= 3; ++i) {
    clk.advance(1000);
    BOOST_REQUIRE(
        eventually([&] { return *obj.call(5s, runs_atom::value) == i; }));
  }
  BOOST_CHECK_EQUAL(*obj.call(5s, when_atom::value), clk.now->load() + 1000);
}

BOOST_AUTO_TEST_CASE(backoff_doubles_from_two_seconds) {
  BOOST_CHECK_EQUAL(durable::alarm_backoff_ms(1), 2000);
  BOOST_CHECK_EQUAL(durable::alarm_backoff_ms(2), 4000);
  BOOST_CHECK_EQUAL(durable::alarm_backoff_ms(6), 64000);
  BOOST_CHECK_EQUAL(durable::alarm_backoff_ms(20), 128000);
}

// Issue 9, item 5: alarms that cannot be delivered (here: 2 000 of a class
// this process does not bind) must not keep the scheduler from the others.
BOOST_AUTO_TEST_CASE(undeliverable_alarms_do_not_starve_others) {
  manual_clock clk;
  temp_dir dir;
  alarm_log::get().reset(0);
  auto early = clk.now->load() + 1000;
  {
    fixture fx{clk.settings(dir.path + "/data")};
    auto ghosts = fx.bind<alarmed>("ghost");
    std::vector<std::future<bool>> calls;
    for (int t = 0; t < 8; ++t)
      calls.push_back(std::async(std::launch::async, [&, t] {
        for (int i = t; i < 2000; i += 8) {
          auto x = ghosts.get_by_name("g" + std::to_string(i))
                       .call(10s, set_atom::value, early);
          if (!x || !*x)
            return false;
        }
        return true;
      }));
    for (auto& f : calls)
      BOOST_REQUIRE(f.get());
  }
  // Restart without binding "ghost": its alarms stay stored, undeliverable,
  // and all come before the one deliverable alarm in the index.
  fixture fx{clk.settings(dir.path + "/data")};
  auto obj = fx.bind<alarmed>("alarmed").get_by_name("a");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, early + 1));
  clk.advance(2000);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 1; }));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
  auto all = fx.dep.engine().all_alarms(durable::jurisdiction::none);
  BOOST_REQUIRE(all);
  BOOST_CHECK_EQUAL(all->size(), 2000u); // the ghosts' alarms are kept
}

// Issue 9, item 5: an object that refuses the alarm (overloaded) delays it
// without using up its retries; it fires once the overload ends.
BOOST_AUTO_TEST_CASE(refused_alarms_keep_their_retries) {
  manual_clock clk;
  fixture fx{clk.settings()};
  alarm_log::get().reset(0);
  auto g = std::make_shared<gate>();
  gate::current() = g;
  // One admitted message at most: while `block` runs, the alarm is refused.
  auto obj = fx.bind<alarmed>("alarmed", {0ms, 1}).get_by_name("busy");
  BOOST_REQUIRE(*obj.call(5s, set_atom::value, clk.now->load() + 1000));
  auto blocked = std::async(std::launch::async,
                            [&] { return obj.call(30s, block_atom::value); });
  BOOST_REQUIRE(eventually([&] { return g->entered.load(); }));
  // Far beyond every backoff: a retry count used up by refusals would have
  // dropped the alarm by now.
  for (int i = 0; i < 10; ++i) {
    clk.advance(200'000);
    settle();
  }
  BOOST_CHECK_EQUAL(alarm_log::get().attempts(), 0u);
  g->opened.set_value();
  BOOST_REQUIRE(blocked.get());
  clk.advance(10'000);
  BOOST_REQUIRE(eventually([] { return alarm_log::get().attempts() == 1; }));
  BOOST_REQUIRE(
      eventually([&] { return *obj.call(5s, runs_atom::value) == 1; }));
  std::lock_guard<std::mutex> guard{alarm_log::get().mtx};
  BOOST_CHECK((alarm_log::get().retry_counts == std::vector<uint32_t>{0}));
}
