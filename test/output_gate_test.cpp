// Every way a durable object can emit a message passes its output gate:
// CAF's member send/anon_send/request, stub sends (with and without a
// sender), replies. Nothing leaves before the turn's writes are durable, and
// nothing at all leaves a turn whose commit failed.

#define BOOST_TEST_MODULE output_gate
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <thread>

#include "test_objects.hpp"
#include "writer_stall.hpp"

using namespace std::chrono_literals;
using namespace test;

namespace {

using emit_atom = caf::atom_constant<caf::atom("emit")>;
using note_atom = caf::atom_constant<caf::atom("note")>;

using emitter_api = caf::typed_actor<
    caf::replies_to<emit_atom, caf::actor, counter_stub, int>::with<int64_t>,
    caf::replies_to<get_atom>::with<int64_t>>;

/// Writes `blobs` values of 128 KiB (1: a small write), then emits through
/// every member and stub way out.
class emitter : public durable::object<emitter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](emit_atom, caf::actor probe, const counter_stub& other,
               int blobs) {
          std::string blob(blobs > 1 ? 131072 : 8, 'e');
          for (int i = 0; i < blobs; ++i)
            storage().put("blob-" + std::to_string(i), blob);
          send(probe, note_atom::value, 1);
          anon_send(probe, note_atom::value, 2);
          request(probe, 10s, note_atom::value, 3).then([](int) {});
          other.anon_send(inc_atom::value);
          other.send(this, inc_atom::value);
          return int64_t{1};
        },
        [](get_atom) { return int64_t{0}; },
    };
  }
};

/// A plain CAF actor that counts what reaches it.
caf::behavior probe(caf::event_based_actor*,
                    std::shared_ptr<std::atomic<int>> seen) {
  return {
      [seen](note_atom, int x) {
        ++*seen;
        return x;
      },
  };
}

struct gate_fixture : fixture {
  explicit gate_fixture(durable::settings s = test_settings())
      : fixture(std::move(s)),
        seen(std::make_shared<std::atomic<int>>(0)),
        probe_actor(sys.spawn(probe, seen)),
        emitters(bind<emitter>("emitter")),
        counters(bind<counter>("counter")) {
    // nop
  }

  int64_t other_value() {
    auto x = counters.get_by_name("other").call(5s, get_atom::value);
    return x ? *x : -1;
  }

  std::shared_ptr<std::atomic<int>> seen;
  caf::actor probe_actor;
  durable::object_namespace<emitter_api> emitters;
  durable::object_namespace<counter_api> counters;
};

} // namespace

BOOST_AUTO_TEST_CASE(every_way_out_waits_for_the_commit) {
  gate_fixture fx;
  auto a = fx.emitters.get_by_name("a");
  auto other = fx.counters.get_by_name("other");
  BOOST_REQUIRE_EQUAL(fx.other_value(), 0);
  // Live before the stall: a first spawn may itself need the writer.
  BOOST_REQUIRE(a.call(5s, get_atom::value));
  writer_stall stall{fx.dep};
  caf::scoped_actor self{fx.sys};
  auto reply =
      a.request(self.ptr(), 10s, emit_atom::value, fx.probe_actor, other, 1);
  std::this_thread::sleep_for(300ms);
  BOOST_CHECK_EQUAL(fx.seen->load(), 0);
  BOOST_CHECK_EQUAL(fx.other_value(), 0);
  BOOST_CHECK_EQUAL(self->mailbox().size(), 0u);
  stall.resume();
  int64_t got = 0;
  reply.receive([&](int64_t x) { got = x; },
                [](caf::error& err) { BOOST_FAIL(durable::message_of(err)); });
  BOOST_CHECK_EQUAL(got, 1);
  BOOST_CHECK(eventually([&] { return fx.seen->load() == 3; }));
  BOOST_CHECK(eventually([&] { return fx.other_value() == 2; }));
}

BOOST_AUTO_TEST_CASE(nothing_leaves_a_turn_whose_commit_failed) {
  auto cfg = test_settings();
  cfg.map_size = size_t{1} << 20;
  cfg.max_map_size = size_t{1} << 20;
  gate_fixture fx{cfg};
  auto a = fx.emitters.get_by_name("doomed");
  auto other = fx.counters.get_by_name("other");
  for (int round = 0; round < 8; ++round) {
    auto x = a.call(10s, emit_atom::value, fx.probe_actor, other, 12);
    BOOST_REQUIRE(!x);
    BOOST_CHECK_MESSAGE(durable::is_object_reset(x.error()) ||
                            durable::message_of(x.error()).find("full") !=
                                std::string::npos,
                        durable::message_of(x.error()));
  }
  std::this_thread::sleep_for(300ms);
  BOOST_CHECK_EQUAL(fx.seen->load(), 0);
  BOOST_CHECK_EQUAL(fx.other_value(), 0);
}
