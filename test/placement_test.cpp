#define BOOST_TEST_MODULE placement
#include <boost/test/unit_test.hpp>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "durable/catalog.hpp"
#include "durable/errc.hpp"
#include "durable/id_factory.hpp"
#include "durable/placement.hpp"
#include "durable/secret.hpp"

using namespace durable;
using namespace durable::cluster;

namespace {

deployment_secret test_secret() {
  deployment_secret::bytes_type bytes;
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i);
  return deployment_secret::from_bytes(bytes);
}

/// One catalog node; `jurisdictions` is a JSON array or "" (all of them).
std::string node(int number, const char* region,
                 const char* jurisdictions = "") {
  auto n = std::to_string(number);
  std::string result =
      R"({"name": "n)" + n + R"(", "number": )" + n +
      R"(, "basp": "127.0.0.1:)" + std::to_string(7100 + number) +
      R"(", "http": "127.0.0.1:)" + std::to_string(8100 + number) +
      R"(", "region": ")" + region + '"';
  if (*jurisdictions != '\0')
    result += std::string{R"(, "jurisdictions": )"} + jurisdictions;
  return result + '}';
}

catalog make_catalog(const std::vector<std::string>& nodes) {
  std::string text = R"({"cluster": "test", "nodes": [)";
  for (size_t i = 0; i < nodes.size(); ++i)
    text += (i > 0 ? "," : "") + nodes[i];
  auto result = catalog::parse(text + "]}");
  BOOST_REQUIRE_MESSAGE(result, (result ? "" : message_of(result.error())));
  return std::move(*result);
}

/// n1 = weur {eu}, n2 = enam {us}, n3 = apac {eu, us}.
catalog mixed() {
  return make_catalog({node(1, "weur", R"(["eu"])"),
                       node(2, "enam", R"(["us"])"),
                       node(3, "apac", R"(["eu", "us"])")});
}

/// `n` nodes in one region, each holding every jurisdiction.
catalog uniform(int n) {
  std::vector<std::string> nodes;
  for (int i = 1; i <= n; ++i)
    nodes.push_back(node(i, "weur"));
  return make_catalog(nodes);
}

struct fixture {
  id_factory ids{test_secret(), "placement-ns"};

  object_id unique(jurisdiction j, uint16_t tag) {
    auto id = ids.new_unique(j, tag);
    BOOST_REQUIRE(id);
    return *id;
  }

  object_id named(int i, jurisdiction j = jurisdiction::none) {
    return ids.from_name("object-" + std::to_string(i), j);
  }
};

constexpr int num_names = 30'000;

} // namespace

BOOST_FIXTURE_TEST_SUITE(placement_tests, fixture)

BOOST_AUTO_TEST_CASE(named_ids_spread_evenly_and_every_node_agrees) {
  placement from1{uniform(3), 1};
  placement from3{uniform(3), 3};
  std::array<int, 4> counts{};
  for (int i = 0; i < num_names; ++i) {
    auto id = named(i);
    auto owner = from1.owner(id);
    BOOST_REQUIRE(owner >= 1 && owner <= 3);
    // Coordination-free: another node and another call give the same owner.
    BOOST_REQUIRE_EQUAL(from3.owner(id), owner);
    BOOST_REQUIRE_EQUAL(from1.owner(id), owner);
    ++counts[owner];
  }
  for (int n = 1; n <= 3; ++n) {
    BOOST_TEST_MESSAGE("node " << n << ": " << counts[n]);
    BOOST_CHECK_GE(counts[n], num_names * 25 / 100);
    BOOST_CHECK_LE(counts[n], num_names * 42 / 100);
  }
}

BOOST_AUTO_TEST_CASE(a_new_node_takes_about_a_quarter_and_nothing_else_moves) {
  placement three{uniform(3), 1};
  placement four{uniform(4), 1};
  int moved = 0;
  for (int i = 0; i < num_names; ++i) {
    auto id = named(i);
    auto before = three.owner(id);
    auto after = four.owner(id);
    if (after != before) {
      // Rendezvous hashing: names only ever move TO the new node.
      BOOST_REQUIRE_EQUAL(after, 4);
      ++moved;
    }
  }
  BOOST_TEST_MESSAGE("moved: " << moved);
  BOOST_CHECK_GE(moved, num_names * 20 / 100);
  BOOST_CHECK_LE(moved, num_names * 30 / 100);
}

BOOST_AUTO_TEST_CASE(the_score_function_is_pinned) {
  // Every node must compute the same owner, across versions too: changing
  // the score moves named objects. These owners were computed once by this
  // implementation; a change here is a breaking change of the cluster.
  placement five{uniform(5), 1};
  std::string owners;
  for (int i = 0; i < 16; ++i)
    owners += std::to_string(five.owner(named(i)));
  BOOST_CHECK_EQUAL(owners, "1544232431415141");
}

BOOST_AUTO_TEST_CASE(named_ids_stay_in_their_jurisdiction) {
  placement p{mixed(), 2};
  std::map<uint16_t, int> eu;
  std::map<uint16_t, int> us;
  for (int i = 0; i < 3000; ++i) {
    ++eu[p.owner(named(i, jurisdiction::eu))];
    ++us[p.owner(named(i, jurisdiction::us))];
    // No node may hold fedramp: never routed.
    BOOST_REQUIRE_EQUAL(p.owner(named(i, jurisdiction::fedramp)), 0);
  }
  // Only n1 and n3 hold eu, only n2 and n3 hold us; both of each get some.
  BOOST_CHECK_EQUAL(eu.size(), 2u);
  BOOST_CHECK_GT(eu[1], 1000);
  BOOST_CHECK_GT(eu[3], 1000);
  BOOST_CHECK_EQUAL(us.size(), 2u);
  BOOST_CHECK_GT(us[2], 1000);
  BOOST_CHECK_GT(us[3], 1000);
  // Unrestricted names go to all three.
  std::map<uint16_t, int> any;
  for (int i = 0; i < 3000; ++i)
    ++any[p.owner(named(i))];
  BOOST_CHECK_EQUAL(any.size(), 3u);
}

BOOST_AUTO_TEST_CASE(unique_ids_route_by_their_tag) {
  placement p{mixed(), 2};
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::none, 1)), 1);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::none, 3)), 3);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::eu, 1)), 1);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::us, 3)), 3);
  // Tag 0: made outside a cluster, so here.
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::none, 0)), 2);
  // A tag naming no node, or a node that may not hold the jurisdiction.
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::none, 4)), 0);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::none, 65535)), 0);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::eu, 2)), 0);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::us, 1)), 0);
  BOOST_CHECK_EQUAL(p.owner(unique(jurisdiction::fedramp, 3)), 0);
}

BOOST_AUTO_TEST_CASE(place_unique_honours_hints_and_jurisdictions) {
  placement from1{mixed(), 1};
  placement from2{mixed(), 2};
  auto place = [](const placement& p, jurisdiction j, location_hint hint) {
    auto tag = p.place_unique(j, hint);
    BOOST_REQUIRE_MESSAGE(tag, (tag ? "" : message_of(tag.error())));
    return *tag;
  };
  using lh = location_hint;
  // No hint: the node itself when it may hold the jurisdiction.
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::none, lh::none), 1);
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::eu, lh::none), 1);
  BOOST_CHECK_EQUAL(place(from2, jurisdiction::us, lh::none), 2);
  // A hint picks the node in (or nearest to) that region.
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::none, lh::apac), 3);
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::none, lh::apac_se), 3);
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::none, lh::eeur), 1);
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::none, lh::sam), 2);
  // weur for us: n2 (enam) is nearer to weur than n3 (apac).
  BOOST_CHECK_LT(placement::distance(lh::weur, lh::enam),
                 placement::distance(lh::weur, lh::apac));
  BOOST_CHECK_EQUAL(place(from1, jurisdiction::us, lh::weur), 2);
  // From n2 (enam) without a hint, eu goes to the eu node nearest to enam.
  BOOST_CHECK_EQUAL(place(from2, jurisdiction::eu, lh::none), 1);
  BOOST_CHECK_EQUAL(place(from2, jurisdiction::eu, lh::apac_ne), 3);
  for (auto j : {jurisdiction::fedramp, jurisdiction::fedramp_high}) {
    auto none = from1.place_unique(j, lh::none);
    BOOST_REQUIRE(!none);
    BOOST_CHECK(is(none.error(), errc::no_placement));
    auto what = message_of(none.error());
    BOOST_CHECK_MESSAGE(what.find(storage_name(j)) != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(equally_near_nodes_take_turns) {
  // n5 (enam) may not hold eu; n1 and n4 are both in weur.
  placement p{
      make_catalog({node(1, "weur", R"(["eu"])"), node(4, "weur", R"(["eu"])"),
                    node(5, "enam", "[]")}),
      5};
  std::map<uint16_t, int> counts;
  for (int i = 0; i < 10; ++i)
    ++counts[*p.place_unique(jurisdiction::eu, location_hint::none)];
  BOOST_CHECK_EQUAL(counts.size(), 2u);
  BOOST_CHECK_EQUAL(counts[1], 5);
  BOOST_CHECK_EQUAL(counts[4], 5);
}

BOOST_AUTO_TEST_CASE(distance_is_a_symmetric_table) {
  using lh = location_hint;
  uint32_t farthest = 0;
  for (auto x : all_location_hints) {
    BOOST_CHECK_EQUAL(placement::distance(x, x), 0u);
    for (auto y : all_location_hints) {
      BOOST_CHECK_EQUAL(placement::distance(x, y), placement::distance(y, x));
      if (x != y)
        BOOST_CHECK_GT(placement::distance(x, y), 0u);
      farthest = std::max(farthest, placement::distance(x, y));
    }
  }
  BOOST_CHECK_LE(farthest, 20'100u); // half the earth's circumference
  BOOST_CHECK_EQUAL(placement::distance(lh::none, lh::none), 0u);
  for (auto x : all_location_hints) {
    BOOST_CHECK_GT(placement::distance(lh::none, x), farthest);
    BOOST_CHECK_EQUAL(placement::distance(x, lh::none),
                      placement::distance(lh::none, x));
  }
  // Plausible neighbours.
  BOOST_CHECK_LT(placement::distance(lh::weur, lh::eeur),
                 placement::distance(lh::weur, lh::me));
  BOOST_CHECK_LT(placement::distance(lh::wnam, lh::enam),
                 placement::distance(lh::wnam, lh::sam));
  BOOST_CHECK_LT(placement::distance(lh::apac_ne, lh::apac),
                 placement::distance(lh::apac_ne, lh::oc));
}

BOOST_AUTO_TEST_SUITE_END()
