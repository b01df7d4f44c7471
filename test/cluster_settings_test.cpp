// The cluster's settings are checked before CAF sees them: bad TLS files
// (which make caf_openssl abort the process) and bad catalog or node
// settings get clear errors naming the file or option; good ones set CAF up
// for BASP over TLS only, with heartbeats.

#define BOOST_TEST_MODULE cluster_settings
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include "durable/cluster_settings.hpp"
#include "durable/config.hpp"
#include "durable/errc.hpp"
#include "test_pki.hpp"

using namespace durable;
using namespace durable::cluster;

namespace {

struct pki {
  std::string dir;

  pki() {
    dir = (std::filesystem::temp_directory_path() /
           ("durable-tls-" + std::to_string(::getpid())))
              .string();
    durable::test::test_pki certs{dir, "ca"};
    certs.issue("a");
    certs.issue("b");
    std::ofstream{dir + "/garbage.pem"} << "not a PEM file\n";
    std::ofstream{dir + "/catalog.json"} << R"({"cluster": "t", "nodes": [
              {"name": "a", "number": 1, "basp": "127.0.0.1:7001",
               "http": "127.0.0.1:8001", "region": "weur",
               "jurisdictions": ["eu"]}]})";
  }

  ~pki() { std::filesystem::remove_all(dir); }

  /// The command line of node "a" with good files.
  std::vector<std::string> base_args() const {
    return {"--durable.cluster.catalog=" + dir + "/catalog.json",
            "--durable.cluster.node=a",
            "--durable.cluster.tls-certificate=" + good().certificate,
            "--durable.cluster.tls-key=" + good().key,
            "--durable.cluster.tls-ca=" + good().ca};
  }

  tls_files good() const {
    return {dir + "/a.pem", dir + "/a.key", dir + "/ca.pem"};
  }
};

/// A config that knows the cluster options, as a node's would.
struct cluster_config : durable::config {
  cluster_config() { add_options(custom_options_); }
};

std::string text(const caf::error& err) {
  return message_of(err);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cluster_settings_suite, pki)

BOOST_AUTO_TEST_CASE(good_files_pass) {
  BOOST_CHECK(!check_tls_files(good()));
}

BOOST_AUTO_TEST_CASE(bad_files_get_errors_naming_them) {
  auto expect = [](tls_files files, const std::string& path,
                   const std::string& what) {
    auto err = check_tls_files(files);
    BOOST_REQUIRE(err);
    BOOST_CHECK(is(err, errc::invalid_argument));
    BOOST_CHECK_MESSAGE(text(err).find(path) != std::string::npos &&
                            text(err).find(what) != std::string::npos,
                        text(err));
  };
  auto x = good();
  x.certificate = dir + "/missing.pem";
  expect(x, x.certificate, "certificate");
  x = good();
  x.certificate = dir + "/garbage.pem";
  expect(x, x.certificate, "certificate");
  x = good();
  x.key = dir + "/b.key"; // Another node's key.
  expect(x, x.key, "key");
  x = good();
  x.ca = dir + "/garbage.pem"; // CAF aborts the process on this one.
  expect(x, x.ca, "CA file holds no certificate");
  x = good();
  x.ca = dir + "/a.key";
  expect(x, x.ca, "CA file holds no certificate");
  x = good();
  x.key.clear();
  expect(x, "tls-key", "required");
}

BOOST_AUTO_TEST_CASE(prepare_checks_catalog_node_and_timeouts) {
  auto prepared = [&](std::vector<std::string> extra) {
    cluster_config cfg;
    auto args = base_args();
    args.insert(args.end(), extra.begin(), extra.end());
    BOOST_REQUIRE(!cfg.parse(args, "/nonexistent.ini"));
    auto result = prepare(cfg);
    if (result) {
      // CAF is set up for BASP over TLS with heartbeats, nothing else.
      BOOST_CHECK_EQUAL(cfg.openssl_certificate, good().certificate);
      BOOST_CHECK(
          !caf::get_or(cfg, "middleman.enable-automatic-connections", true));
      BOOST_CHECK(caf::get_or(cfg, "middleman.heartbeat-interval",
                              caf::timespan{0}) > caf::timespan{0});
      BOOST_CHECK_EQUAL(caf::get_or(cfg, "durable.location", std::string{}),
                        "weur");
    }
    return result;
  };
  BOOST_CHECK(prepared({}));
  auto unknown = prepared({"--durable.cluster.node=zz"});
  BOOST_REQUIRE(!unknown);
  BOOST_CHECK(text(unknown.error()).find("\"zz\"") != std::string::npos);
  auto missing = prepared({"--durable.cluster.catalog=" + dir + "/none.json"});
  BOOST_REQUIRE(!missing);
  BOOST_CHECK(text(missing.error()).find("none.json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_connection_timeout_below_six_heartbeats_is_refused) {
  cluster_config cfg;
  auto args = base_args();
  args.push_back("--durable.cluster.heartbeat-interval=1s");
  args.push_back("--durable.cluster.connection-timeout=2s");
  BOOST_REQUIRE(!cfg.parse(args, "/nonexistent.ini"));
  auto result = prepare(cfg);
  BOOST_REQUIRE(!result);
  BOOST_CHECK(text(result.error()).find("6 heartbeat") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
