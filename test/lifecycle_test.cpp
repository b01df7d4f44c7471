// Object lifecycle under misuse and pending work: an object waiting for a
// response or holding a promise is not idle, self-sends never leak
// admissions, call() on an actor thread fails at once instead of stalling a
// worker, and stubs from the wire are checked before use.

#define BOOST_TEST_MODULE lifecycle
#include <boost/test/unit_test.hpp>

#include <future>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

using ask_atom = caf::atom_constant<caf::atom("ask")>;
using echo_atom = caf::atom_constant<caf::atom("echo")>;
using loop_atom = caf::atom_constant<caf::atom("loop")>;
using nop_atom = caf::atom_constant<caf::atom("nop")>;
using block_atom = caf::atom_constant<caf::atom("block")>;

using asker_api = caf::typed_actor<
    caf::replies_to<ask_atom, counter_stub, int>::with<int64_t>,
    caf::replies_to<get_atom>::with<int64_t>,
    caf::replies_to<loop_atom>::with<int64_t>, caf::reacts_to<nop_atom>,
    caf::replies_to<block_atom, counter_stub>::with<std::string>>;

/// Asks another object and writes what it heard in the response handler.
class asker : public durable::object<asker_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](ask_atom, const counter_stub& slow,
               int ms) -> caf::typed_response_promise<int64_t> {
          auto rp = make_gated_promise<int64_t>();
          slow.request(this, 30s, sleep_atom::value, ms)
              .then(
                  [this, rp](int64_t x) mutable {
                    storage().put_value("heard", x + 100);
                    rp.deliver(x + 100);
                  },
                  [rp](caf::error& err) mutable { rp.deliver(err); });
          return rp;
        },
        [this](get_atom) {
          auto x = storage().get_value<int64_t>("heard");
          return x && *x ? **x : int64_t{-1};
        },
        [this](loop_atom) {
          // Sends itself a message through its own stub (the slow path when
          // others queue behind a spawn).
          self_stub().send(this, nop_atom::value);
          return int64_t{0};
        },
        [](nop_atom) {},
        [](block_atom, const counter_stub& other) {
          auto x = other.call(5s, get_atom::value);
          return x ? std::string{"answered"} : durable::message_of(x.error());
        },
    };
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(objects_waiting_for_a_response_are_not_idle) {
  fixture fx;
  // The asker is idle-evicted after 30 ms; its partner answers after 400.
  auto askers = fx.bind<asker>("asker", {30ms, 0});
  auto slow = fx.bind<counter>("counter").get_by_name("slow");
  auto a = askers.get_by_name("patient");
  auto x = a.call(10s, ask_atom::value, slow, 400);
  BOOST_REQUIRE_MESSAGE(x, (x ? "" : durable::message_of(x.error())));
  BOOST_CHECK_EQUAL(*x, 100);
  // The response handler's write happened and survives an eviction.
  BOOST_REQUIRE(eventually([&] { return askers.live_objects() == 0; }));
  BOOST_CHECK_EQUAL(*a.call(5s, get_atom::value), 100);
  BOOST_CHECK_EQUAL(registry::get().overlaps.load(), 0);
}

BOOST_AUTO_TEST_CASE(self_sends_on_the_slow_path_release_their_admission) {
  fixture fx;
  auto askers = fx.bind<asker>("asker", {30ms, 0});
  // Many senders to a fresh ID queue behind its spawn in the namespace
  // actor; the object's messages to itself then take the slow path too.
  for (int round = 0; round < 20; ++round) {
    auto a = askers.get_by_name("looper-" + std::to_string(round));
    caf::scoped_actor self{fx.sys};
    for (int i = 0; i < 2000; ++i)
      a.anon_send(loop_atom::value);
    BOOST_REQUIRE(a.call(10s, loop_atom::value));
  }
  // Every admission was given back: all of them go idle and are evicted.
  BOOST_CHECK(eventually([&] { return askers.live_objects() == 0; }, 10s));
}

BOOST_AUTO_TEST_CASE(call_on_an_actor_thread_fails_at_once) {
  durable::config cfg;
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  temp_dir dir;
  auto s = test_settings();
  s.data_dir = dir.path + "/data";
  auto dep = fixture::open(sys, s);
  auto counters = *dep.bind<counter>("counter");
  auto askers = *dep.bind<asker>("asker");
  auto target = counters.get_by_name("target");
  // From a durable object's handler ...
  auto x = askers.get_by_name("blocker").call(10s, block_atom::value, target);
  BOOST_REQUIRE(x);
  BOOST_CHECK_MESSAGE(x->find("actor's thread") != std::string::npos, *x);
  // ... and from a plain CAF actor on the only worker.
  auto from_actor = std::make_shared<std::promise<std::string>>();
  auto result = from_actor->get_future();
  sys.spawn([=](caf::event_based_actor*) {
    auto y = target.call(10s, get_atom::value);
    from_actor->set_value(y ? "answered" : durable::message_of(y.error()));
  });
  BOOST_REQUIRE(result.wait_for(5s) == std::future_status::ready);
  auto text = result.get();
  BOOST_CHECK_MESSAGE(text.find("actor's thread") != std::string::npos, text);
  // Outside actors, call() works.
  BOOST_CHECK_EQUAL(*target.call(5s, get_atom::value), 0);
}

BOOST_AUTO_TEST_CASE(stubs_from_the_wire_are_checked) {
  fixture fx;
  auto counters = fx.bind<counter>("counter");
  auto good = counters.get_by_name("real");
  auto forged_bytes = good.id().bytes();
  forged_bytes[20] ^= 0x01; // breaks the MAC
  counter_stub forged{durable::object_id{forged_bytes}, nullptr};
  auto round_trip = [&](counter_stub in, counter_stub& out) {
    std::vector<char> buf;
    caf::binary_serializer sink{fx.sys, buf};
    // Serialize with the namespace key of the good stub.
    auto key = counters.key();
    auto id = in.id();
    std::string k = key;
    auto hint = uint8_t{0};
    if (auto err = sink(id, k, hint))
      return err;
    caf::binary_deserializer source{fx.sys, buf};
    return source(out);
  };
  counter_stub out;
  BOOST_CHECK(!round_trip(good, out));
  BOOST_CHECK(out == good);
  counter_stub bad;
  auto err = round_trip(forged, bad);
  BOOST_REQUIRE(err);
  BOOST_CHECK(durable::is(err, durable::errc::wrong_namespace));
  BOOST_CHECK(!bad);
}

BOOST_AUTO_TEST_CASE(eviction_racing_traffic_never_doubles_an_instance) {
  fixture fx;
  // Instances come and go every few milliseconds under traffic: each new
  // one is told apart from the last by its actor ID (never reused), so a
  // late end of an old instance never removes a new one.
  auto counters = fx.bind<counter>("counter", {2ms, 0});
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        auto c = counters.get_by_name("racy-" + std::to_string((i + t) % 8));
        if (!c.call(10s, get_atom::value))
          ++failures;
        if (i % 64 == 0)
          std::this_thread::sleep_for(3ms);
      }
    });
  for (auto& th : clients)
    th.join();
  BOOST_CHECK_EQUAL(failures.load(), 0);
  BOOST_CHECK_EQUAL(registry::get().overlaps.load(), 0);
  BOOST_CHECK(eventually([&] { return counters.live_objects() == 0; }));
}

BOOST_AUTO_TEST_CASE(a_refused_asynchronous_send_leaves_its_sender_alone) {
  auto s = test_settings();
  s.node = durable::node_description{durable::location_hint::none,
                                     {durable::jurisdiction::us}};
  fixture fx{s};
  auto counters = fx.bind<counter>("counter");
  // This node may not hold eu objects: the spawn is refused on the slow
  // path. A sender of an asynchronous message must not be told (CAF would
  // terminate it with that error).
  auto eu = counters.jurisdiction(durable::jurisdiction::eu).get_by_name("x");
  auto local = counters.get_by_name("here");
  auto rounds = std::make_shared<std::atomic<int>>(0);
  auto sender = fx.sys.spawn([=](caf::event_based_actor* self) {
    return caf::behavior{
        [=](get_atom) {
          eu.send(self, inc_atom::value);
          // The refusal passes the namespace actor before this request.
          local.request(self, 10s, get_atom::value).then([=](int64_t) {
            ++*rounds;
          });
        },
    };
  });
  caf::scoped_actor self{fx.sys};
  self->monitor(sender);
  for (int i = 1; i <= 3; ++i) {
    self->send(sender, get_atom::value);
    BOOST_REQUIRE(eventually([&] { return rounds->load() == i; }));
  }
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(std::chrono::milliseconds{200}) >> [] {});
  BOOST_CHECK(!down);
}
