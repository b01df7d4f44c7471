#define BOOST_TEST_MODULE cluster_catalog
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "durable/catalog.hpp"
#include "durable/errc.hpp"

using namespace durable;
using namespace durable::cluster;

namespace {

// Three nodes; n3 omits "jurisdictions" (it holds all of them).
constexpr const char* valid = R"({"cluster": "demo", "nodes": [
  {"name": "n1", "number": 1, "basp": "127.0.0.1:7101",
   "http": "127.0.0.1:8101", "region": "weur", "jurisdictions": ["eu"]},
  {"name": "n2", "number": 2, "basp": "127.0.0.1:7102",
   "http": "127.0.0.1:8102", "region": "enam", "jurisdictions": ["us"]},
  {"name": "n3", "number": 65534, "basp": "[::1]:7103",
   "http": "node-3.example:8103", "region": "apac-ne"}]})";

/// `valid` with the first `from` replaced by `to`.
std::string with(std::string_view from, std::string_view to) {
  std::string result = valid;
  auto pos = result.find(from);
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "no " << from);
  result.replace(pos, from.size(), to);
  return result;
}

/// Returns the error text of parsing `text`, which must fail with
/// `errc::invalid_argument`.
std::string refusal(const std::string& text) {
  auto result = catalog::parse(text);
  BOOST_REQUIRE_MESSAGE(!result, "accepted: " << text);
  BOOST_CHECK(is(result.error(), errc::invalid_argument));
  return message_of(result.error());
}

struct bad_case {
  std::string text;
  std::vector<std::string> expected; // each must occur in the error text
};

void check_refused(const std::vector<bad_case>& cases) {
  for (auto& c : cases) {
    auto what = refusal(c.text);
    BOOST_TEST_MESSAGE(what);
    for (auto& part : c.expected)
      BOOST_CHECK_MESSAGE(what.find(part) != std::string::npos,
                          "\"" << part << "\" not in: " << what);
  }
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("cluster_catalog_test." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_valid_catalog_round_trips_into_its_entries) {
  auto cat = catalog::parse(valid);
  BOOST_REQUIRE_MESSAGE(cat, (cat ? "" : message_of(cat.error())));
  BOOST_CHECK_EQUAL(cat->name(), "demo");
  BOOST_REQUIRE_EQUAL(cat->nodes().size(), 3u);
  auto& n1 = cat->nodes()[0];
  BOOST_CHECK_EQUAL(n1.name, "n1");
  BOOST_CHECK_EQUAL(n1.number, 1);
  BOOST_CHECK_EQUAL(n1.basp.host, "127.0.0.1");
  BOOST_CHECK_EQUAL(n1.basp.port, 7101);
  BOOST_CHECK_EQUAL(n1.http.to_string(), "127.0.0.1:8101");
  BOOST_CHECK(n1.region == location_hint::weur);
  BOOST_CHECK(n1.jurisdictions == std::vector{jurisdiction::eu});
  BOOST_CHECK(n1.may_hold(jurisdiction::eu));
  BOOST_CHECK(n1.may_hold(jurisdiction::none));
  BOOST_CHECK(!n1.may_hold(jurisdiction::us));
  auto& n3 = cat->nodes()[2];
  BOOST_CHECK_EQUAL(n3.number, 65534);
  BOOST_CHECK_EQUAL(n3.basp.host, "[::1]");
  BOOST_CHECK_EQUAL(n3.basp.port, 7103);
  BOOST_CHECK_EQUAL(n3.http.to_string(), "node-3.example:8103");
  BOOST_CHECK(n3.region == location_hint::apac_ne);
  std::vector<jurisdiction> all{restricted_jurisdictions.begin(),
                                restricted_jurisdictions.end()};
  BOOST_CHECK(n3.jurisdictions == all);
  auto desc = n1.description();
  BOOST_CHECK(desc.location() == location_hint::weur);
  BOOST_CHECK(desc.may_hold(jurisdiction::eu));
  BOOST_CHECK(!desc.may_hold(jurisdiction::fedramp));
  BOOST_CHECK(n3.description().jurisdictions() == all);
  BOOST_CHECK_EQUAL(cat->find(uint16_t{2}), &cat->nodes()[1]);
  BOOST_CHECK_EQUAL(cat->find(std::string_view{"n3"}), &n3);
  BOOST_CHECK(cat->find(uint16_t{3}) == nullptr);
  BOOST_CHECK(cat->find(std::string_view{"n4"}) == nullptr);
  // An empty list is valid: the node holds only unrestricted objects.
  auto none = catalog::parse(with(R"(["us"])", "[]"));
  BOOST_REQUIRE(none);
  BOOST_CHECK(none->nodes()[1].jurisdictions.empty());
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_catalog_object_is_refused) {
  check_refused({
      // Line and column count from 1: '}' is byte 31.
      {"{\"cluster\": \"demo\", \"nodes\": [}",
       {"invalid JSON at line 1, column 31", "unexpected '}'"}},
      {"", {"invalid JSON at line 1, column 1"}},
      {"[1, 2]", {"must be a JSON object"}},
      {with(R"("cluster": "demo")", R"("cluster": "demo", "clustr": "x")"),
       {"unknown field \"clustr\""}},
      {with(R"("cluster": "demo", )", ""), {"\"cluster\"", "missing"}},
      {with(R"("demo")", R"("")"), {"\"cluster\""}},
      {with(R"("demo")", R"("de mo")"), {"\"cluster\"", "\"de mo\""}},
      {with(R"("demo")", '"' + std::string(65, 'd') + '"'), {"\"cluster\""}},
      {with(R"("demo")", "7"), {"\"cluster\"", "must be a string"}},
      {R"({"cluster": "demo", "nodes": []})", {"\"nodes\"", "1 to 1000"}},
      {R"({"cluster": "demo", "nodes": {}})", {"\"nodes\""}},
      {R"({"cluster": "demo"})", {"\"nodes\"", "missing"}},
      // nlohmann keeps the last of two equal keys: a typo would pass.
      // (The second "number" of nodes[1] ends in line 4, column 38.)
      {with(R"("number": 2,)", R"("number": 2, "number": 3,)"),
       {"duplicate member \"number\" at line 4, column 38"}},
      {with(R"("cluster": "demo")", R"("cluster": "demo", "cluster": "demo")"),
       {"duplicate member \"cluster\" at line 1, column 29"}},
      {with(R"(["us"])", R"([[[["us"]]]])"),
       {"nested deeper than 4 levels at line 5"}},
      // Deep nesting is refused without building it (bounded memory).
      {std::string(500'000, '[') + std::string(500'000, ']'),
       {"nested deeper"}},
  });
}

BOOST_AUTO_TEST_CASE(each_node_field_is_checked_and_named) {
  check_refused({
      {with(R"("name": "n2", )", ""), {"nodes[1]", "\"name\"", "missing"}},
      {with(R"("n2")", R"("n 2")"), {"nodes[1]", "\"name\"", "\"n 2\""}},
      {with(R"("n2")", '"' + std::string(65, 'n') + '"'), {"nodes[1]", "name"}},
      {with(R"("n2")", R"("")"), {"nodes[1]", "\"name\""}},
      {with(R"("number": 2)", R"("number": 0)"),
       {"nodes[1] (\"n2\")", "\"number\"", "got 0"}},
      {with(R"("number": 2)", R"("number": 65536)"), {"\"n2\"", "\"number\""}},
      {with(R"("number": 2)", R"("number": 65535)"), {"\"n2\"", "reserved"}},
      {with(R"("number": 2)", R"("number": -1)"), {"\"n2\"", "\"number\""}},
      {with(R"("number": 2)", R"("number": 1.5)"), {"\"n2\"", "\"number\""}},
      {with(R"("number": 2)", R"("number": "2")"), {"\"n2\"", "\"number\""}},
      {with(R"("number": 2, )", ""), {"\"n2\"", "\"number\"", "missing"}},
      {with("127.0.0.1:7102", "127.0.0.1:0"), {"\"n2\"", "\"basp\"", "port"}},
      {with("127.0.0.1:7102", "127.0.0.1:70000"),
       {"\"n2\"", "\"basp\"", "port", "70000"}},
      {with("127.0.0.1:7102", "127.0.0.1"),
       {"\"n2\"", "\"basp\"", "host:port"}},
      {with("127.0.0.1:7102", "127.0.0.1:71x"), {"\"n2\"", "\"basp\"", "port"}},
      {with("127.0.0.1:7102", "127.0.0.1:"), {"\"n2\"", "\"basp\"", "port"}},
      {with("127.0.0.1:7102", ":7102"), {"\"n2\"", "\"basp\"", "host"}},
      {with("127.0.0.1:7102", "my host:7102"),
       {"\"n2\"", "\"basp\"", "spaces"}},
      {with("127.0.0.1:8102", "127.0.0.1:-1"), {"\"n2\"", "\"http\"", "port"}},
      {with(R"("http": "127.0.0.1:8102")", R"("http": 8102)"),
       {"\"n2\"", "\"http\""}},
      {with(R"("region": "enam")", R"("region": "mars")"),
       {"\"n2\"", "\"region\"", "\"mars\""}},
      {with(R"("region": "enam")", R"("region": "")"),
       {"\"n2\"", "\"region\""}},
      {with(R"("region": "enam", )", ""), {"\"n2\"", "\"region\"", "missing"}},
      {with(R"(["us"])", R"(["us", "xx"])"),
       {"\"n2\"", "\"jurisdictions\"", "\"xx\""}},
      {with(R"(["us"])", R"(["us", "us"])"),
       {"\"n2\"", "\"jurisdictions\"", "twice"}},
      {with(R"(["us"])", R"("us")"), {"\"n2\"", "\"jurisdictions\""}},
      {with(R"(["us"])", R"([4])"), {"\"n2\"", "\"jurisdictions\""}},
      {with(R"("region": "enam")", R"("regoin": "enam")"),
       {"nodes[1] (\"n2\")", "unknown field \"regoin\""}},
      {with(R"({"name": "n2")", R"(["n2"])"), {"invalid JSON at line 4"}},
      {with(R"({"name": "n2", )", R"(7, {"name": "n2", )"),
       {"nodes[1]", "must be an object"}},
  });
}

BOOST_AUTO_TEST_CASE(names_numbers_and_addresses_are_unique) {
  check_refused({
      {with(R"("n2")", R"("n1")"),
       {"nodes[1] (\"n1\")", "\"name\"", "already used by nodes[0]"}},
      {with(R"("number": 2)", R"("number": 1)"),
       {"nodes[1] (\"n2\")", "\"number\"", "already used by nodes[0]"}},
      {with("127.0.0.1:7102", "127.0.0.1:7101"),
       {"nodes[1] (\"n2\")", "\"basp\"", "127.0.0.1:7101", "nodes[0]"}},
      // basp and http share one address space, also within one node.
      {with("127.0.0.1:8102", "127.0.0.1:7101"),
       {"nodes[1] (\"n2\")", "\"http\"", "nodes[0] (\"n1\") field \"basp\""}},
      {with("127.0.0.1:8102", "127.0.0.1:7102"),
       {"nodes[1] (\"n2\") field \"basp\""}},
      // Leading zeros do not make a port another one.
      {with("127.0.0.1:7102", "127.0.0.1:07101"), {"\"basp\"", "nodes[0]"}},
  });
}

BOOST_AUTO_TEST_CASE(node_count_and_text_size_are_bounded) {
  std::string nodes;
  for (int i = 1; i <= 1001; ++i) {
    auto n = std::to_string(i);
    nodes += std::string{i > 1 ? "," : ""} + R"({"name": "n)" + n +
             R"(", "number": )" + n + R"(, "basp": "h:)" + n +
             R"(", "http": "h:)" + std::to_string(10000 + i) +
             R"(", "region": "weur"})";
  }
  auto many = R"({"cluster": "big", "nodes": [)" + nodes + "]}";
  check_refused({{many, {"\"nodes\"", "1 to 1000"}}});
  auto last = many.rfind(",{");
  auto thousand = many.substr(0, last) + "]}";
  auto cat = catalog::parse(thousand);
  BOOST_REQUIRE_MESSAGE(cat, (cat ? "" : message_of(cat.error())));
  BOOST_CHECK_EQUAL(cat->nodes().size(), 1000u);
  auto huge = with(R"("cluster": "demo")", R"("cluster": "demo", "x": ")" +
                                               std::string(1 << 20, 'x') + '"');
  check_refused({{huge, {"1 MiB"}}});
  // Error texts echo a bad value cut short.
  for (auto bad : {'"' + std::string(10'000, '9') + '"',
                   '[' + std::string(10'000, '1') + ']'}) {
    auto what = refusal(with(R"("number": 2)", R"("number": )" + bad));
    BOOST_CHECK_MESSAGE(what.size() < 300 && what.find("...") != what.npos,
                        what);
  }
}

BOOST_AUTO_TEST_CASE(load_reads_a_file_and_names_the_path_on_failure) {
  auto dir = temp_dir();
  auto path = dir + "/catalog.json";
  std::ofstream{path} << valid;
  auto cat = catalog::load(path);
  BOOST_REQUIRE_MESSAGE(cat, (cat ? "" : message_of(cat.error())));
  BOOST_CHECK_EQUAL(cat->nodes().size(), 3u);
  auto missing = catalog::load(dir + "/missing.json");
  BOOST_REQUIRE(!missing);
  BOOST_CHECK(is(missing.error(), errc::invalid_argument));
  auto what = message_of(missing.error());
  BOOST_CHECK_MESSAGE(what.find(dir + "/missing.json") != std::string::npos &&
                          what.find("No such file") != std::string::npos,
                      what);
  auto from_dir = catalog::load(dir);
  BOOST_REQUIRE(!from_dir);
  BOOST_CHECK(message_of(from_dir.error()).find(dir) != std::string::npos);
  auto big = dir + "/big.json";
  std::ofstream{big} << std::string((1 << 20) + 1, ' ');
  auto too_big = catalog::load(big);
  BOOST_REQUIRE(!too_big);
  BOOST_CHECK(message_of(too_big.error()).find("1 MiB") != std::string::npos);
  // A bad file names the field like parsed text does.
  std::ofstream{path} << with(R"("region": "enam")", R"("region": "mars")");
  auto bad = catalog::load(path);
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(message_of(bad.error()).find("\"region\"") != std::string::npos);
  std::filesystem::remove_all(dir);
}
