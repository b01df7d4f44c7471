// The routing hook namespace/ offers a cluster (remote_routing): IDs another
// node owns go to `forward` with their sender and request ID, never to a
// local instance; unique IDs carry the placement tag the hook picks; the
// hook attaches only before binding; and in a cluster an interface with a
// type CAF cannot send between nodes is refused at bind time.

#define BOOST_TEST_MODULE remote_routing
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <vector>

#include "durable/remote_routing.hpp"
#include "test_objects.hpp"

using namespace durable;
using namespace ::test;
using namespace std::chrono_literals;

namespace {

/// Owns named IDs whose name starts with "far" on node 7; answers each
/// forwarded request itself with 1000 + the node number, like a peer would.
class fake_cluster : public remote_routing {
public:
  uint16_t owner(const object_id& id) const noexcept override {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& far : far_)
      if (far == id)
        return 7;
    if (!id.is_named() && id.placement_tag() == 7)
      return 7;
    return local;
  }

  caf::expected<uint16_t> place_unique(jurisdiction,
                                       location_hint hint) const override {
    return hint == location_hint::apac ? uint16_t{7} : uint16_t{1};
  }

  void forward(uint16_t node, const std::string&, const object_id& id,
               location_hint, caf::strong_actor_ptr sender, caf::message_id mid,
               caf::message, caf::execution_unit* ctx) const override {
    forwarded.fetch_add(1);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      forwarded_ids.push_back(id);
    }
    if (sender && mid.is_request())
      sender->enqueue(
          caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                    caf::make_message(int64_t{1000} + node)),
          ctx);
  }

  void add_far(object_id id) {
    std::lock_guard<std::mutex> guard{mtx_};
    far_.push_back(std::move(id));
  }

  mutable std::atomic<int> forwarded{0};
  mutable std::vector<object_id> forwarded_ids;

private:
  mutable std::mutex mtx_;
  std::vector<object_id> far_;
};

/// An interface with a type nobody registered.
struct unregistered_payload {
  int x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregistered_payload& x) {
  return f(x.x);
}

using odd_api =
    caf::typed_actor<caf::replies_to<unregistered_payload>::with<int64_t>>;

class odd : public durable::object<odd_api> {
public:
  using object::object;
  behavior_type make_behavior() override {
    return {[](const unregistered_payload& p) { return int64_t{p.x}; }};
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(ids_another_node_owns_are_forwarded_not_spawned) {
  fixture fx;
  auto cluster = std::make_shared<fake_cluster>();
  BOOST_REQUIRE(!fx.dep.attach(cluster));
  auto ns = fx.dep.bind<counter>("counter");
  BOOST_REQUIRE(ns);
  cluster->add_far(ns->id_from_name("far-1"));
  // A local object answers itself; a far one is answered by the "peer".
  BOOST_CHECK_EQUAL(*ns->get_by_name("near-1").call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(*ns->get_by_name("far-1").call(5s, inc_atom::value), 1007);
  BOOST_CHECK_EQUAL(cluster->forwarded.load(), 1);
  BOOST_CHECK_EQUAL(
      registry::get().constructed.count(ns->id_from_name("far-1")), 0u);
  BOOST_CHECK_EQUAL(ns->live_objects(), 1u);
  // Unique IDs carry the tag the hook picks, and route by it.
  auto here = ns->new_unique_id();
  auto there = ns->new_unique_id(location_hint::apac);
  BOOST_REQUIRE(here && there);
  BOOST_CHECK_EQUAL(here->placement_tag(), 1);
  BOOST_CHECK_EQUAL(there->placement_tag(), 7);
  auto s = ns->get(*there);
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(*s->call(5s, inc_atom::value), 1007);
  BOOST_CHECK_EQUAL(cluster->forwarded.load(), 2);
}

BOOST_AUTO_TEST_CASE(the_hook_attaches_only_before_binding) {
  fixture fx;
  BOOST_REQUIRE(fx.dep.bind<counter>("counter"));
  auto err = fx.dep.attach(std::make_shared<fake_cluster>());
  BOOST_CHECK(is(err, errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(unsendable_interfaces_are_refused_in_a_cluster) {
  {
    fixture fx; // Without a cluster, nothing crosses the network: fine.
    BOOST_CHECK(fx.dep.bind<odd>("odd"));
  }
  fixture fx;
  BOOST_REQUIRE(!fx.dep.attach(std::make_shared<fake_cluster>()));
  auto ns = fx.dep.bind<odd>("odd");
  BOOST_REQUIRE(!ns);
  BOOST_CHECK(is(ns.error(), errc::invalid_argument));
  BOOST_CHECK_MESSAGE(message_of(ns.error()).find("add_message_type") !=
                          std::string::npos,
                      message_of(ns.error()));
  BOOST_CHECK(fx.dep.bind<counter>("counter")); // Registered types: fine.
}
