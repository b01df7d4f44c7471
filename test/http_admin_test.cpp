// The front door's admin routes over real sockets on 127.0.0.1: the
// namespace listing in the REST API's envelope, paging, and clear errors for
// bad parameters, paths and methods.

#define BOOST_TEST_MODULE http_admin
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/fetch.hpp"
#include "durable/http_server.hpp"
#include "durable/object.hpp"
#include "http_client.hpp"
#include "test_objects.hpp"

using namespace durable::test;

namespace {

std::string class_name(int i) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "c%02d", i);
  return buf;
}

template <class T>
T must(caf::expected<T> x) {
  if (!x)
    throw std::runtime_error(durable::message_of(x.error()));
  return std::move(*x);
}

/// A deployment with 25 namespaces ("c00".."c23" by migration, "counter"
/// bound) and a server answering the admin routes beside the `counter`
/// binding.
struct fixture : test::fixture {
  durable::object_namespace<test::counter_api> ns;
  durable::http::server srv;

  fixture() : ns(bind<test::counter>("counter")), srv(sys) {
    durable::migration m;
    m.tag = "v1";
    for (int i = 0; i < 24; ++i)
      m.new_classes.push_back({class_name(i), "Class" + class_name(i), "app"});
    must(dep.migrate({m}));
    BOOST_REQUIRE(!srv.bind("counter", ns));
    BOOST_REQUIRE(!srv.serve_admin(dep.registry()));
    if (auto err = srv.start())
      BOOST_FAIL("cannot start: " << durable::message_of(err));
  }

  ~fixture() { srv.stop(); }

  /// The registry's own page, as the route must answer it.
  std::string expected_page(int64_t page, int64_t per_page) {
    return durable::to_json(must(dep.registry().list(page, per_page)));
  }
};

std::string failure_body(const std::string& message) {
  return "{\"result\":null,\"success\":false,\"errors\":[{\"code\":1,"
         "\"message\":" +
         message + "}],\"messages\":[]}";
}

/// Sends `target` and returns the response, failing the test without one.
response get(client& c, const std::string& target,
             const std::string& method = "GET") {
  auto r = c.request(method, target);
  if (!r)
    throw std::runtime_error("no response to " + method + " " + target);
  return std::move(*r);
}

} // namespace

BOOST_AUTO_TEST_CASE(lists_namespaces_by_page) {
  fixture fx;
  client c{fx.srv.port()};
  // Defaults: page 1 of 20.
  auto r = get(c, "/admin/namespaces");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK_EQUAL(header(r, "content-type"), "application/json");
  BOOST_CHECK_EQUAL(r.body(), fx.expected_page(1, 20));
  auto c00 = fx.dep.registry().find("c00");
  BOOST_REQUIRE(c00 && *c00);
  BOOST_CHECK(r.body().find("{\"result\":[{\"id\":\"" + (*c00)->id +
                            "\",\"name\":\"c00\",\"script\":\"app\","
                            "\"class\":\"Classc00\"}") == 0);
  BOOST_CHECK(r.body().find("\"result_info\":{\"page\":1,\"per_page\":20,"
                            "\"count\":20,\"total_count\":25}") !=
              std::string::npos);
  BOOST_CHECK(r.body().find("\"success\":true,\"errors\":[]") !=
              std::string::npos);
  // The last page holds the rest, ordered by name ("counter" after "c23").
  r = get(c, "/admin/namespaces?page=2&per_page=20");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK_EQUAL(r.body(), fx.expected_page(2, 20));
  BOOST_CHECK(r.body().find("\"count\":5,") != std::string::npos);
  BOOST_CHECK(r.body().find("\"name\":\"c19\"") == std::string::npos);
  BOOST_CHECK(r.body().find("\"name\":\"c20\"") != std::string::npos);
  BOOST_CHECK(r.body().find("\"name\":\"counter\"") != std::string::npos);
  // Past the end: an empty page, not an error.
  r = get(c, "/admin/namespaces?page=3");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK(r.body().find("{\"result\":[],") == 0);
  // Everything on one page; unknown parameters are ignored.
  r = get(c, "/admin/namespaces/?per_page=100&color=blue");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK_EQUAL(r.body(), fx.expected_page(1, 100));
  // HEAD gets the headers only, on the same connection.
  r = get(c, "/admin/namespaces", "HEAD");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK(r.body().empty());
  // The objects are still served beside the admin routes.
  r = get(c, "/counter/alice/x");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK_EQUAL(r.body(), "GET /counter/alice/x ");
  BOOST_CHECK_EQUAL(header(r, "x-object"), "alice");
}

BOOST_AUTO_TEST_CASE(bad_parameters_get_400_in_the_envelope) {
  fixture fx;
  client c{fx.srv.port()};
  struct bad_case {
    const char* target;
    const char* message;
  };
  std::vector<bad_case> cases{
      {"/admin/namespaces?per_page=101",
       "\"per_page must be between 1 and 100, got 101\""},
      {"/admin/namespaces?per_page=0",
       "\"per_page must be between 1 and 100, got 0\""},
      {"/admin/namespaces?page=0", "\"page must be at least 1, got 0\""},
      {"/admin/namespaces?page=-1",
       "\"page must be a positive integer, got \\\"-1\\\"\""},
      {"/admin/namespaces?page=two",
       "\"page must be a positive integer, got \\\"two\\\"\""},
      {"/admin/namespaces?per_page=",
       "\"per_page must be a positive integer, got \\\"\\\"\""},
      {"/admin/namespaces?page=99999999999999999999",
       "\"page must be a positive integer, got "
       "\\\"99999999999999999999\\\"\""},
  };
  for (auto& x : cases) {
    BOOST_TEST_CONTEXT(x.target) {
      auto r = get(c, x.target);
      BOOST_CHECK_EQUAL(r.result_int(), 400);
      BOOST_CHECK_EQUAL(r.body(), failure_body(x.message));
    }
  }
  // Unknown admin paths and other methods.
  auto r = get(c, "/admin/objects");
  BOOST_CHECK_EQUAL(r.result_int(), 404);
  BOOST_CHECK_EQUAL(r.body(),
                    failure_body("\"no admin route \\\"/admin/objects\\\": "
                                 "use GET /admin/namespaces\""));
  r = get(c, "/admin");
  BOOST_CHECK_EQUAL(r.result_int(), 404);
  r = get(c, "/admin/namespaces", "DELETE");
  BOOST_CHECK_EQUAL(r.result_int(), 405);
  BOOST_CHECK_EQUAL(header(r, "allow"), "GET, HEAD");
  // The connection survived every error.
  r = get(c, "/admin/namespaces?per_page=1");
  BOOST_CHECK_EQUAL(r.result_int(), 200);
  BOOST_CHECK_EQUAL(r.body(), fx.expected_page(1, 1));
}

BOOST_AUTO_TEST_CASE(error_bodies_stay_json_for_any_bytes) {
  fixture fx;
  client c{fx.srv.port()};
  // Targets may carry bytes that are not UTF-8: the JSON bodies that quote
  // them replace those with U+FFFD (a strict writer would throw instead).
  auto r = get(c, "/admin/caf\xff\xc3");
  BOOST_CHECK_EQUAL(r.result_int(), 404);
  auto doc = nlohmann::json::parse(r.body(), nullptr, false);
  BOOST_REQUIRE_MESSAGE(doc.is_object(), r.body());
  BOOST_CHECK_EQUAL(doc["errors"][0]["message"].get<std::string>(),
                    "no admin route \"/admin/caf\xef\xbf\xbd\xef\xbf\xbd\": "
                    "use GET /admin/namespaces");
  r = get(c, "/caf\xff/alice");
  BOOST_CHECK_EQUAL(r.result_int(), 404);
  doc = nlohmann::json::parse(r.body(), nullptr, false);
  BOOST_REQUIRE_MESSAGE(doc.is_object(), r.body());
  BOOST_CHECK_EQUAL(doc["error"].get<std::string>(),
                    "no binding named \"caf\xef\xbf\xbd\"");
  // The members keep their order.
  BOOST_CHECK_EQUAL(r.body().find("{\"error\":"), 0u);
  BOOST_CHECK(r.body().find("\"retryable\":false,\"overloaded\":false,"
                            "\"remote\":false}") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(admin_segment_is_reserved_only_when_served) {
  fixture fx;
  // A server without admin routes treats "admin" as an unknown binding...
  durable::http::server plain{fx.sys};
  BOOST_REQUIRE(!plain.bind("counter", fx.ns));
  BOOST_REQUIRE(!plain.start());
  client c{plain.port()};
  auto r = get(c, "/admin/namespaces");
  BOOST_CHECK_EQUAL(r.result_int(), 404);
  BOOST_CHECK(r.body().find("no binding named \\\"admin\\\"") !=
              std::string::npos);
  // ... and may bind it; then the admin routes cannot have it, and the
  // other way round.
  durable::http::server taken{fx.sys};
  BOOST_CHECK(!taken.bind("admin", fx.ns));
  BOOST_CHECK(taken.serve_admin(fx.dep.registry()));
  durable::http::server admin{fx.sys};
  BOOST_CHECK(!admin.serve_admin(fx.dep.registry()));
  BOOST_CHECK(admin.bind("admin", fx.ns));
  BOOST_REQUIRE(!admin.start());
  BOOST_CHECK(admin.serve_admin(fx.dep.registry()));
}
