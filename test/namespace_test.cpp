// The namespace API: IDs, stubs, jurisdictional sub-namespaces, placement and
// location hints, and the deployment's configuration and secret.

#define BOOST_TEST_MODULE namespace
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "test_objects.hpp"

using namespace std::chrono_literals;
using namespace test;
using durable::errc;
using durable::jurisdiction;

namespace {

std::string make_temp_dir() {
  char tmpl[] = "/tmp/durable-ns-XXXXXX";
  auto dir = mkdtemp(tmpl);
  BOOST_REQUIRE(dir != nullptr);
  return dir;
}

} // namespace

BOOST_AUTO_TEST_CASE(names_map_to_stable_ids) {
  fixture fx;
  auto ns = fx.bind<counter>("counter");
  auto a = ns.id_from_name("alice");
  BOOST_CHECK(a == ns.id_from_name("alice"));
  BOOST_CHECK(a != ns.id_from_name("bob"));
  BOOST_CHECK_EQUAL(a.name(), "alice");
  BOOST_CHECK(a.is_named());
  BOOST_CHECK(ns.get_by_name("alice").id() == a);
  // Another namespace key gives other IDs, and refuses ours.
  auto other = fx.bind<counter>("counter-2");
  BOOST_CHECK(other.id_from_name("alice") != a);
  auto foreign = other.get(a);
  BOOST_REQUIRE(!foreign);
  BOOST_CHECK_EQUAL(durable::message_of(foreign.error()),
                    "Durable Object ID is not valid for this namespace.");
  auto parsed = other.id_from_string(a.to_string());
  BOOST_REQUIRE(!parsed);
  BOOST_CHECK(durable::is(parsed.error(), errc::wrong_namespace));
}

BOOST_AUTO_TEST_CASE(ids_round_trip_through_strings) {
  fixture fx;
  auto ns = fx.bind<counter>("counter");
  auto id = ns.new_unique_id();
  BOOST_REQUIRE(id);
  auto hex = id->to_string();
  std::string upper = hex;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto parsed = ns.id_from_string(upper);
  BOOST_REQUIRE(parsed);
  BOOST_CHECK(*parsed == *id);
  BOOST_CHECK_EQUAL(parsed->to_string(), hex);
  auto bad = ns.id_from_string(hex.substr(1));
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_EQUAL(durable::message_of(bad.error()),
                    "Invalid Durable Object ID: must be 64 hex digits");
  // A parsed ID reaches the same object as the original.
  auto a = ns.get(*id);
  auto b = ns.get(*parsed);
  BOOST_CHECK_EQUAL(*a->call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(*b->call(5s, inc_atom::value), 2);
}

BOOST_AUTO_TEST_CASE(sub_namespaces_carry_their_jurisdiction) {
  fixture fx;
  auto ns = fx.bind<counter>("counter");
  auto eu = ns.jurisdiction("eu");
  BOOST_REQUIRE(eu);
  BOOST_CHECK(eu->jurisdiction() == jurisdiction::eu);
  auto root_id = ns.id_from_name("x");
  auto eu_id = eu->id_from_name("x");
  BOOST_CHECK(root_id != eu_id);
  BOOST_CHECK(eu_id.jurisdiction() == jurisdiction::eu);
  BOOST_CHECK(root_id.jurisdiction() == jurisdiction::none);
  auto unique = eu->new_unique_id();
  BOOST_REQUIRE(unique);
  BOOST_CHECK(unique->jurisdiction() == jurisdiction::eu);
  BOOST_CHECK(!unique->is_named());
  BOOST_CHECK(!eu->new_unique_id(jurisdiction::us));
  BOOST_CHECK(ns.new_unique_id(jurisdiction::us)->jurisdiction() ==
              jurisdiction::us);
  // The sub-namespace refuses IDs of other jurisdictions ...
  auto refused = eu->get(root_id);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(durable::is(refused.error(), errc::wrong_jurisdiction));
  BOOST_CHECK_EQUAL(durable::message_of(refused.error()),
                    "get called on jurisdictional subnamespace with an ID "
                    "from a different jurisdiction");
  auto us = ns.jurisdiction(jurisdiction::us);
  BOOST_CHECK(!us.get(eu_id));
  // ... while the root namespace takes them all.
  BOOST_CHECK(ns.get(eu_id));
  BOOST_CHECK(eu->get(eu_id));
  // An eu ID parses back with its jurisdiction.
  auto parsed = ns.id_from_string(eu_id.to_string());
  BOOST_REQUIRE(parsed);
  BOOST_CHECK(parsed->jurisdiction() == jurisdiction::eu);
  auto bad = ns.jurisdiction("xx");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_EQUAL(durable::message_of(bad.error()),
                    "unsupported jurisdiction: \"xx\"");
  // Same name, different jurisdictions: different objects.
  auto eu_stub = eu->get_by_name("x");
  BOOST_CHECK_EQUAL(*eu_stub.call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(*ns.get_by_name("x").call(5s, get_atom::value), 0);
}

BOOST_AUTO_TEST_CASE(nodes_without_the_jurisdiction_spawn_nothing) {
  auto cfg = test_settings();
  cfg.node = durable::node_description{durable::location_hint::none,
                                       {jurisdiction::us}};
  fixture fx{cfg};
  auto ns = fx.bind<counter>("counter");
  auto eu_stub = ns.jurisdiction(jurisdiction::eu).get_by_name("x");
  auto x = eu_stub.call(5s, inc_atom::value);
  BOOST_REQUIRE(!x);
  BOOST_CHECK(durable::is(x.error(), errc::no_placement));
  BOOST_CHECK_EQUAL(durable::message_of(x.error()),
                    "no placement for jurisdiction \"eu\": this node may not "
                    "hold it");
  BOOST_CHECK_EQUAL(ns.live_objects(), 0u);
  BOOST_CHECK_EQUAL(registry::get().constructions(eu_stub.id()), 0);
  // Jurisdictions the node holds, and global objects, work.
  auto us_stub = ns.jurisdiction(jurisdiction::us).get_by_name("x");
  BOOST_CHECK_EQUAL(*us_stub.call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(*ns.get_by_name("x").call(5s, inc_atom::value), 1);
  BOOST_CHECK_EQUAL(ns.live_objects(), 2u);
}

BOOST_AUTO_TEST_CASE(only_the_first_access_honours_the_location_hint) {
  fixture fx;
  auto ns = fx.bind<counter>("counter");
  auto id = ns.id_from_name("hinted");
  auto first = ns.get(id, {durable::location_hint::weur});
  auto second = ns.get(id, {durable::location_hint::apac});
  BOOST_CHECK_EQUAL(*first->call(5s, hint_atom::value), "weur");
  BOOST_CHECK_EQUAL(*second->call(5s, hint_atom::value), "weur");
  BOOST_CHECK_EQUAL(*ns.get_by_name("plain").call(5s, hint_atom::value), "");
}

BOOST_AUTO_TEST_CASE(binding_a_key_twice_is_refused) {
  fixture fx;
  fx.bind<counter>("counter");
  auto again = fx.dep.bind<counter>("counter");
  BOOST_REQUIRE(!again);
  BOOST_CHECK(durable::is(again.error(), errc::invalid_argument));
  BOOST_CHECK(!fx.dep.bind<counter>(""));
}

BOOST_AUTO_TEST_CASE(secret_is_created_once_with_mode_0600) {
  auto dir = make_temp_dir();
  durable::settings cfg;
  cfg.data_dir = dir + "/data";
  cfg.secret_file = cfg.data_dir + "/secret";
  std::string first_hex;
  {
    fixture fx{cfg};
    first_hex = fx.bind<counter>("counter").id_from_name("a").to_string();
    struct stat st;
    BOOST_REQUIRE_EQUAL(stat(cfg.secret_file.c_str(), &st), 0);
    BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600);
    BOOST_CHECK_EQUAL(st.st_size, 32);
  }
  {
    // A restart with the same data directory derives the same IDs.
    fixture fx{cfg};
    auto ns = fx.bind<counter>("counter");
    BOOST_CHECK_EQUAL(ns.id_from_name("a").to_string(), first_hex);
    BOOST_CHECK(ns.id_from_string(first_hex));
  }
  {
    // Another secret derives other IDs and rejects the old ones (in a data
    // directory of its own: this one refuses another secret, see
    // secret_test).
    auto other = cfg;
    other.data_dir = dir + "/other";
    other.secret_hex = std::string(64, 'b');
    fixture fx{other};
    auto ns = fx.bind<counter>("counter");
    BOOST_CHECK_NE(ns.id_from_name("a").to_string(), first_hex);
    BOOST_CHECK(!ns.id_from_string(first_hex));
  }
  std::system(("rm -rf " + dir).c_str());
}

BOOST_AUTO_TEST_CASE(settings_come_from_caf_options) {
  durable::config cfg;
  cfg.set("durable.idle-timeout", caf::timespan{std::chrono::seconds{5}});
  cfg.set("durable.max-queued", size_t{7});
  cfg.set("durable.data-dir", "/tmp/somewhere");
  auto s = durable::settings::from_config(cfg);
  BOOST_REQUIRE(s);
  BOOST_CHECK(s->idle_timeout == std::chrono::seconds{5});
  BOOST_CHECK_EQUAL(s->max_queued, 7u);
  BOOST_CHECK_EQUAL(s->secret_file, "/tmp/somewhere/secret");
  durable::config defaults;
  auto d = durable::settings::from_config(defaults);
  BOOST_REQUIRE(d);
  BOOST_CHECK(d->idle_timeout == std::chrono::seconds{70});
  BOOST_CHECK_EQUAL(d->data_dir, "durable-data");
  durable::config zero;
  zero.set("durable.max-queued", size_t{0});
  auto z = durable::settings::from_config(zero);
  BOOST_REQUIRE(!z);
  BOOST_CHECK_EQUAL(durable::message_of(z.error()),
                    "durable.max-queued must be between 1 and 2^30 - 1");
}

BOOST_AUTO_TEST_CASE(config_parses_command_line_options) {
  durable::config cfg;
  const char* args[] = {"prog", "--durable.idle-timeout=250ms",
                        "--durable.location=weur",
                        "--durable.jurisdictions=[\"eu\"]"};
  auto err = cfg.parse(4, const_cast<char**>(args));
  BOOST_REQUIRE_MESSAGE(!err, cfg.render(err));
  auto s = durable::settings::from_config(cfg);
  BOOST_REQUIRE(s);
  BOOST_CHECK(s->idle_timeout == std::chrono::milliseconds{250});
  BOOST_CHECK(s->node.location() == durable::location_hint::weur);
  BOOST_CHECK(s->node.may_hold(jurisdiction::eu));
  BOOST_CHECK(!s->node.may_hold(jurisdiction::us));
}
