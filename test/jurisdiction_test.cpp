// Jurisdictions, location hints and node descriptions.

#define BOOST_TEST_MODULE jurisdiction
#include <boost/test/unit_test.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <caf/sec.hpp>

#include "durable/errc.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/node.hpp"

using durable::jurisdiction;
using durable::location_hint;

BOOST_AUTO_TEST_CASE(jurisdictions_have_fixed_names_and_codes) {
  struct {
    const char* name;
    jurisdiction value;
    uint8_t code;
  } expected[] = {{"eu", jurisdiction::eu, 1},
                  {"fedramp", jurisdiction::fedramp, 2},
                  {"fedramp-high", jurisdiction::fedramp_high, 3},
                  {"us", jurisdiction::us, 4}};
  for (auto& x : expected) {
    auto parsed = durable::parse_jurisdiction(x.name);
    BOOST_REQUIRE(parsed);
    BOOST_CHECK(*parsed == x.value);
    BOOST_CHECK_EQUAL(static_cast<int>(*parsed), x.code);
    BOOST_CHECK_EQUAL(durable::to_string(x.value), x.name);
    BOOST_CHECK_EQUAL(durable::storage_name(x.value), x.name);
    BOOST_CHECK(*durable::jurisdiction_from_code(x.code) == x.value);
  }
  BOOST_CHECK_EQUAL(durable::storage_name(jurisdiction::none), "global");
  BOOST_CHECK(*durable::jurisdiction_from_code(0) == jurisdiction::none);
}

BOOST_AUTO_TEST_CASE(unknown_jurisdictions_are_rejected_clearly) {
  for (auto name : {"xx", "", "EU", "fedramp_high", "global", "eu "}) {
    auto parsed = durable::parse_jurisdiction(name);
    BOOST_REQUIRE(!parsed);
    BOOST_CHECK(
        durable::is(parsed.error(), durable::errc::unsupported_jurisdiction));
    BOOST_CHECK_EQUAL(durable::message_of(parsed.error()),
                      std::string{"unsupported jurisdiction: \""} + name +
                          "\"");
  }
  for (uint8_t code = 5; code < 8; ++code)
    BOOST_CHECK(!durable::jurisdiction_from_code(code));
}

BOOST_AUTO_TEST_CASE(location_hints_round_trip) {
  const char* names[] = {"wnam",    "enam",    "sam", "weur", "eeur", "apac",
                         "apac-ne", "apac-se", "oc",  "afr",  "me"};
  for (auto name : names) {
    auto hint = durable::parse_location_hint(name);
    BOOST_REQUIRE(hint);
    BOOST_CHECK_EQUAL(durable::to_string(*hint), name);
  }
  auto bad = durable::parse_location_hint("mars");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(
      durable::is(bad.error(), durable::errc::unsupported_location_hint));
  BOOST_CHECK_EQUAL(durable::message_of(bad.error()),
                    "unsupported location hint: \"mars\"");
}

BOOST_AUTO_TEST_CASE(default_node_holds_everything) {
  durable::node_description node;
  BOOST_CHECK(node.location() == location_hint::none);
  BOOST_CHECK(node.may_hold(jurisdiction::none));
  for (auto j : durable::restricted_jurisdictions)
    BOOST_CHECK(node.may_hold(j));
  BOOST_CHECK_EQUAL(node.jurisdictions().size(), 4u);
}

BOOST_AUTO_TEST_CASE(node_restricted_by_config) {
  caf::actor_system_config cfg;
  caf::put(cfg.content, "durable.location", "weur");
  caf::put(cfg.content, "durable.jurisdictions",
           std::vector<std::string>{"eu", "us"});
  auto node = durable::node_description::from_config(cfg);
  BOOST_REQUIRE(node);
  BOOST_CHECK(node->location() == location_hint::weur);
  BOOST_CHECK(node->may_hold(jurisdiction::none));
  BOOST_CHECK(node->may_hold(jurisdiction::eu));
  BOOST_CHECK(node->may_hold(jurisdiction::us));
  BOOST_CHECK(!node->may_hold(jurisdiction::fedramp));
  BOOST_CHECK(!node->may_hold(jurisdiction::fedramp_high));
}

BOOST_AUTO_TEST_CASE(node_config_errors_are_specific) {
  caf::actor_system_config bad_hint;
  caf::put(bad_hint.content, "durable.location", "moon");
  auto x = durable::node_description::from_config(bad_hint);
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(durable::message_of(x.error()),
                    "unsupported location hint: \"moon\"");
  caf::actor_system_config bad_j;
  caf::put(bad_j.content, "durable.jurisdictions",
           std::vector<std::string>{"eu", "xx"});
  auto y = durable::node_description::from_config(bad_j);
  BOOST_REQUIRE(!y);
  BOOST_CHECK_EQUAL(durable::message_of(y.error()),
                    "unsupported jurisdiction: \"xx\"");
}

BOOST_AUTO_TEST_CASE(errors_classify_and_render) {
  caf::error none;
  BOOST_CHECK_EQUAL(durable::message_of(none), "no error");
  BOOST_CHECK(!durable::is_retryable(none));
  BOOST_CHECK(!durable::is_overloaded(none));
  BOOST_CHECK(!durable::is(none, durable::errc::overloaded));
  auto overloaded = durable::make_error(durable::errc::overloaded);
  BOOST_CHECK(durable::is_overloaded(overloaded));
  BOOST_CHECK(!durable::is_retryable(overloaded));
  auto reset = durable::make_error(durable::errc::object_reset, "gone");
  BOOST_CHECK(durable::is_object_reset(reset));
  BOOST_CHECK(durable::is_retryable(reset));
  BOOST_CHECK_EQUAL(durable::message_of(reset), "gone");
  auto thrown = durable::make_error(durable::errc::exception_thrown, "boom");
  BOOST_CHECK(durable::is_remote(thrown));
  BOOST_CHECK(!durable::is_retryable(thrown));
  BOOST_CHECK(
      durable::is_retryable(caf::make_error(caf::sec::request_timeout)));
  BOOST_CHECK_EQUAL(
      durable::message_of(durable::make_error(durable::errc::invalid_id)),
      "Invalid Durable Object ID: must be 64 hex digits");
}
