// Three real node processes on 127.0.0.1 (counter_server in cluster mode,
// mutual TLS with certificates made here by the openssl CLI): every node
// reaches every object, raced first accesses activate each object once,
// jurisdictions keep objects and their bytes on allowed nodes, a killed
// node costs retryable errors for its objects only, and peers without the
// cluster's CA, name or secret are refused while the nodes stay healthy.

#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "cluster_harness.hpp"
#include "durable/catalog.hpp"
#include "durable/id_factory.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/placement.hpp"
#include "durable/secret.hpp"

using namespace std::chrono_literals;
using namespace durable::test;

namespace {

const std::string& secret_hex = cluster_secret_hex;

std::string temp_root() {
  static std::string root = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("durable-cluster-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
  }();
  return root;
}

/// The cluster's CA and one certificate per node, plus a foreign CA: made
/// once per test run (RSA keys take a moment).
struct pki_set {
  test_pki ours{temp_root() + "/pki", "cluster-ca"};
  test_pki foreign{temp_root() + "/pki-foreign", "foreign-ca"};

  pki_set() {
    for (auto name : {"n1", "n2", "n3", "rogue"})
      ours.issue(name);
    foreign.issue("rogue");
  }

  static pki_set& get() {
    static pki_set x;
    return x;
  }
};

/// A node #4 of the catalog whose BASP port drops every SYN (never
/// started), if the fixture has one; a base, so that it exists before the
/// nodes start.
struct hole_holder {
  std::unique_ptr<black_hole> hole;

  /// The catalog entry of the hole, if there is one.
  std::vector<node_spec> hole_spec() const {
    if (!hole)
      return {};
    node_spec x{"hole", 4, "me", {}};
    x.basp = hole->port();
    return {x};
  }
};

/// Three nodes: n1 in weur holding eu, n2 in enam holding us, n3 in apac
/// holding both.
struct cluster_fixture : hole_holder, node_set {
  explicit cluster_fixture(bool with_hole = false)
      : hole_holder{with_hole ? std::make_unique<black_hole>() : nullptr},
        node_set(next_dir(),
                 {{"n1", 1, "weur", {"eu"}},
                  {"n2", 2, "enam", {"us"}},
                  {"n3", 3, "apac", {"eu", "us"}}},
                 pki_set::get().ours, {}, hole_spec()) {
    // Nothing else.
  }

  static std::string next_dir() {
    static int round = 0;
    return temp_root() + "/c" + std::to_string(++round);
  }

  /// A fresh unique counter ID of jurisdiction `j` as node `made_by`
  /// places it (no hint), as 64 hex digits.
  std::string unique_id(uint16_t made_by, durable::jurisdiction j) const {
    auto cat = durable::cluster::catalog::load(catalog_file);
    BOOST_REQUIRE(cat);
    durable::cluster::placement places{*cat, made_by};
    auto tag = places.place_unique(j, durable::location_hint::none);
    BOOST_REQUIRE(tag);
    BOOST_REQUIRE(*tag != 2); // n2 may not hold eu.
    auto id = counter_ids().new_unique(j, *tag);
    BOOST_REQUIRE(id);
    return id->to_string();
  }

  /// The owner (node number) of the counter named `name` in `j`.
  uint16_t owner(const std::string& name,
                 durable::jurisdiction j = durable::jurisdiction::none) const {
    auto cat = durable::cluster::catalog::load(catalog_file);
    BOOST_REQUIRE(cat);
    durable::cluster::placement places{*cat, 1};
    return places.owner(counter_ids().from_name(name, j));
  }

  /// The last error of the link from node `i` to `peer`.
  std::string link_error(size_t i, const std::string& peer) const {
    auto view = cluster_view(http(i));
    BOOST_REQUIRE(view.is_object());
    for (auto& link : view["links"])
      if (link["node"] == peer)
        return link["last_error"].get<std::string>();
    return "no link";
  }
};

/// `x` in whole milliseconds.
template <class Duration>
int64_t ms(Duration x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x).count();
}

/// How often the node at `port` saw its link to `peer` go down.
uint64_t link_downs(uint16_t port, const std::string& peer) {
  auto view = cluster_view(port);
  BOOST_REQUIRE(view.is_object());
  for (auto& link : view["links"])
    if (link["node"] == peer)
      return link["downs"].get<uint64_t>();
  BOOST_FAIL("no link to " << peer);
  return 0;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cluster, cluster_fixture)

BOOST_AUTO_TEST_CASE(every_node_reaches_every_object) {
  constexpr int names = 60;
  std::map<uint16_t, int> per_owner;
  for (int n = 0; n < names; ++n) {
    auto name = "reach-" + std::to_string(n);
    ++per_owner[owner(name)];
    for (size_t i = 0; i < nodes.size(); ++i)
      BOOST_REQUIRE_EQUAL(counter_call(http(i), "/counter/" + name + "/inc"),
                          static_cast<int64_t>(i + 1));
  }
  // Each node listens on exactly its two ports: BASP/TLS and HTTP (no
  // plain-TCP BASP port from automatic connections).
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto ports = listening_ports(nodes[i]->pid());
    std::sort(ports.begin(), ports.end());
    std::vector<uint16_t> expected{specs[i].basp, specs[i].http};
    std::sort(expected.begin(), expected.end());
    BOOST_CHECK(ports == expected);
  }
  // Every node owns some of them, and holds exactly those live.
  for (size_t i = 0; i < nodes.size(); ++i) {
    BOOST_CHECK_GT(per_owner[specs[i].number], 0);
    BOOST_CHECK_EQUAL(live_objects(i), per_owner[specs[i].number]);
  }
}

BOOST_AUTO_TEST_CASE(raced_first_accesses_activate_each_object_once) {
  // 3 400 names, each accessed first from all three nodes at once in a
  // random order: 10 200 first accesses.
  constexpr int names = 3400;
  std::vector<std::thread> racers;
  std::atomic<int> failures{0};
  std::mutex mtx;
  std::vector<std::string> texts;
  for (size_t i = 0; i < nodes.size(); ++i)
    racers.emplace_back([&, i] {
      std::vector<int> order(names);
      for (int n = 0; n < names; ++n)
        order[n] = n;
      std::shuffle(order.begin(), order.end(), std::mt19937{unsigned(i)});
      auto c = std::make_unique<client>(http(i));
      for (auto n : order) {
        c->send("GET /counter/race-" + std::to_string(n) +
                "/inc HTTP/1.1\r\nHost: t\r\n\r\n");
        auto r = read_patiently(*c, 60s);
        if (!r || r->result_int() != 200) {
          if (++failures <= 3) {
            // Boost.Test is not thread-safe: keep the text for later.
            std::lock_guard<std::mutex> guard{mtx};
            texts.push_back(r ? std::to_string(r->result_int()) + " " +
                                    std::string{r->body()}
                              : std::string{"no answer within 60 s"});
          }
          if (!r)
            c = std::make_unique<client>(http(i)); // A late answer would
                                                   // misalign the next.
        }
      }
    });
  for (auto& t : racers)
    t.join();
  for (auto& text : texts)
    BOOST_TEST_MESSAGE("failed: " << text);
  BOOST_REQUIRE_EQUAL(failures.load(), 0);
  // One instance each: three increments from three nodes all counted.
  for (int n = 0; n < names; ++n)
    BOOST_REQUIRE_EQUAL(
        counter_call(http(n % 3), "/counter/race-" + std::to_string(n)), 3);
  uint64_t live = 0;
  for (size_t i = 0; i < nodes.size(); ++i)
    live += live_objects(i);
  BOOST_CHECK_EQUAL(live, static_cast<uint64_t>(names));
}

BOOST_AUTO_TEST_CASE(jurisdiction_keeps_objects_on_allowed_nodes) {
  // 1 000 eu objects (700 named, 300 unique), each reached through every
  // node.
  constexpr int names = 700;
  for (int n = 0; n < names; ++n) {
    auto name = "eu-" + std::to_string(n);
    BOOST_REQUIRE_NE(owner(name, durable::jurisdiction::eu), 2);
    for (size_t i = 0; i < nodes.size(); ++i)
      BOOST_REQUIRE_EQUAL(counter_call(http(i), "/counter-eu/" + name + "/inc"),
                          static_cast<int64_t>(i + 1));
  }
  // Unique eu IDs as each node would make them (placement tag from the
  // node's own choice), reached through every node.
  constexpr int uniques = 300;
  for (int n = 0; n < uniques; ++n) {
    auto made_by = static_cast<uint16_t>(1 + n % 3);
    auto hex = unique_id(made_by, durable::jurisdiction::eu);
    for (size_t i = 0; i < nodes.size(); ++i)
      BOOST_REQUIRE_EQUAL(
          counter_call(http(i), "/counter-eu/id/" + hex + "/inc"),
          static_cast<int64_t>(i + 1));
  }
  BOOST_CHECK_EQUAL(live_objects(1), 0u);
  BOOST_CHECK_EQUAL(live_objects(0) + live_objects(2),
                    static_cast<uint64_t>(names + uniques));
  // No byte of an eu object on the us node: it has no eu environment.
  for (auto& entry : std::filesystem::recursive_directory_iterator(dir + "/n2"))
    BOOST_CHECK_MESSAGE(entry.path().filename().string().find("eu") ==
                            std::string::npos,
                        "eu data on n2: " << entry.path());
}

BOOST_AUTO_TEST_CASE(a_killed_node_fails_only_its_objects_and_comes_back) {
  constexpr int names = 45;
  std::vector<std::string> list;
  std::map<std::string, bool> on_n2;
  for (int n = 0; n < names; ++n) {
    list.push_back("kill-" + std::to_string(n));
    on_n2[list.back()] = owner(list.back()) == 2;
  }
  std::mutex mtx;
  std::map<std::string, int64_t> acked; // Highest acknowledged value.
  std::atomic<bool> stop{false};
  std::atomic<int> n2_failures{0};
  std::atomic<int> other_failures{0};
  std::atomic<int> n2_wrong_status{0};
  std::vector<std::string> other_texts;
  std::atomic<int> slow_failures{0};
  std::atomic<int> n2_successes_after_restart{0};
  std::atomic<bool> restarted{false};
  std::vector<std::thread> load;
  for (size_t i : {0, 2})
    load.emplace_back([&, i, port = http(i), names = list, owned = on_n2] {
      while (!stop) {
        for (auto& name : names) {
          auto t0 = std::chrono::steady_clock::now();
          std::string body;
          auto x = counter_call(port, "/counter/" + name + "/inc", &body);
          auto took = std::chrono::steady_clock::now() - t0;
          auto theirs = owned.at(name);
          if (x > 0) {
            std::lock_guard<std::mutex> guard{mtx};
            acked[name] = std::max(acked[name], x);
            if (theirs && restarted)
              ++n2_successes_after_restart;
          } else if (theirs) {
            ++n2_failures;
            if (x != -503)
              ++n2_wrong_status;
            if (took > 2s)
              ++slow_failures;
          } else if (++other_failures <= 5) {
            // Boost.Test is not thread-safe: keep the text for later.
            std::lock_guard<std::mutex> guard{mtx};
            other_texts.push_back(name + " via node " + std::to_string(i) +
                                  ": " + std::to_string(x) + " " + body);
          }
        }
      }
    });
  std::this_thread::sleep_for(1s);
  nodes[1]->kill(SIGKILL);
  // The survivors see the link go down at once (bound: 0.5 s; checked with
  // slack for a loaded machine).
  auto killed_at = std::chrono::steady_clock::now();
  while (link_downs(http(0), "n2") == 0 &&
         std::chrono::steady_clock::now() - killed_at < 5s)
    std::this_thread::sleep_for(5ms);
  auto detected_ms = ms(std::chrono::steady_clock::now() - killed_at);
  BOOST_TEST_MESSAGE("kill -9 detected by n1 after " << detected_ms << " ms");
  BOOST_CHECK_LT(detected_ms, 1500);
  std::this_thread::sleep_for(2s);
  nodes[1] = start(1);
  for (auto& x : specs)
    BOOST_REQUIRE(links_up(x.http, 30s));
  restarted = true;
  std::this_thread::sleep_for(1500ms);
  stop = true;
  for (auto& t : load)
    t.join();
  BOOST_CHECK_EQUAL(other_failures.load(), 0);
  for (auto& text : other_texts)
    BOOST_TEST_MESSAGE("failure on " << text);
  BOOST_CHECK_EQUAL(n2_wrong_status.load(), 0);
  BOOST_CHECK_GT(n2_failures.load(), 0);
  BOOST_CHECK_EQUAL(slow_failures.load(), 0);
  BOOST_CHECK_GT(n2_successes_after_restart.load(), 0);
  // The survivors' link never went down (a TLS failure on one connection
  // used to close every other one of the process).
  BOOST_CHECK_EQUAL(link_downs(http(0), "n3"), 0u);
  BOOST_CHECK_EQUAL(link_downs(http(2), "n1"), 0u);
  // Nothing acknowledged was lost by the kill.
  for (auto& [name, value] : acked)
    BOOST_CHECK_GE(counter_call(http(0), "/counter/" + name), value);
}

BOOST_AUTO_TEST_CASE(a_frozen_node_is_detected_within_the_heartbeat_bound) {
  // The nodes run with a 500 ms heartbeat and a 4 s connection timeout.
  std::vector<std::string> on_n2;
  std::vector<std::string> on_n3;
  for (int n = 0; on_n2.size() < 6 || on_n3.size() < 6; ++n) {
    auto name = "frozen-" + std::to_string(n);
    auto where = owner(name);
    if (where == 2 && on_n2.size() < 6)
      on_n2.push_back(name);
    else if (where == 3 && on_n3.size() < 6)
      on_n3.push_back(name);
  }
  for (auto& name : on_n2)
    BOOST_REQUIRE_EQUAL(counter_call(http(0), "/counter/" + name + "/inc"), 1);
  nodes[1]->signal(SIGSTOP);
  auto frozen_at = std::chrono::steady_clock::now();
  // Requests in flight to the frozen node wait for the timeout, then all get
  // a retryable error; objects elsewhere keep answering meanwhile.
  std::vector<std::thread> waiting;
  std::vector<int64_t> results(on_n2.size());
  std::vector<std::chrono::steady_clock::duration> took(on_n2.size());
  for (size_t k = 0; k < on_n2.size(); ++k)
    waiting.emplace_back([&, k] {
      results[k] = counter_call(http(0), "/counter/" + on_n2[k] + "/inc");
      took[k] = std::chrono::steady_clock::now() - frozen_at;
    });
  for (auto& name : on_n3)
    BOOST_CHECK_GT(counter_call(http(0), "/counter/" + name + "/inc"), 0);
  for (auto& t : waiting)
    t.join();
  for (size_t k = 0; k < on_n2.size(); ++k) {
    BOOST_CHECK_EQUAL(results[k], -503);
    // Bound: the connection timeout (4 s) plus 0.5 s, plus slack for a
    // loaded 2-core machine.
    BOOST_CHECK_LT(ms(took[k]), 6000);
  }
  // Once the link is down, new requests fail at once.
  auto t0 = std::chrono::steady_clock::now();
  BOOST_CHECK_EQUAL(counter_call(http(0), "/counter/" + on_n2[0] + "/inc"),
                    -503);
  BOOST_CHECK_LT(ms(std::chrono::steady_clock::now() - t0), 1000);
  nodes[1]->signal(SIGCONT);
  for (auto& x : specs)
    BOOST_REQUIRE(links_up(x.http, 30s));
  for (auto& name : on_n2)
    BOOST_CHECK_GT(counter_call(http(0), "/counter/" + name + "/inc"), 1);
}

BOOST_AUTO_TEST_CASE(foreign_peers_are_refused_and_nodes_stay_healthy) {
  auto& pki = pki_set::get();
  // A node that believes it is #1 of a cluster whose #2 is our n2.
  auto rogue = [&](const std::string& cluster, const test_pki& ca,
                   const std::string& secret) {
    auto sub = dir + "/rogue-" + cluster + std::to_string(secret.back());
    std::filesystem::create_directories(sub);
    std::vector<node_spec> specs2{{"rogue", 1, "weur", {}}, specs[1]};
    write_catalog(sub + "/catalog.json", cluster, specs2);
    std::vector<std::string> args{
        "--durable.data-dir=" + sub + "/data",
        "--durable.cluster.catalog=" + sub + "/catalog.json",
        "--durable.cluster.node=rogue",
        "--durable.cluster.tls-certificate=" + ca.cert("rogue"),
        "--durable.cluster.tls-key=" + ca.key("rogue"),
        "--durable.cluster.tls-ca=" + ca.ca_file()};
    auto p = std::make_unique<node_process>(args, secret, sub + "/log");
    BOOST_REQUIRE(p->ready());
    // Its link to n2 never comes up, and says why, within a second of its
    // first dial (which happens as it starts).
    auto started = std::chrono::steady_clock::now();
    std::string why;
    for (int tries = 0; tries < 40; ++tries) {
      std::this_thread::sleep_for(100ms);
      auto view = cluster_view(specs2[0].http);
      BOOST_REQUIRE(view.is_object());
      BOOST_REQUIRE(view["links"][0]["state"] == "down");
      why = view["links"][0]["last_error"].get<std::string>();
      if (why.find("dialed yet") == std::string::npos)
        break;
    }
    BOOST_CHECK_LT(ms(std::chrono::steady_clock::now() - started), 1100);
    return why;
  };
  auto other_secret = std::string(64, 'a');
  auto e1 = rogue("test", pki.foreign, secret_hex);
  BOOST_TEST_MESSAGE("foreign CA: " << e1);
  BOOST_CHECK(!e1.empty());
  auto e2 = rogue("other", pki.ours, secret_hex);
  BOOST_TEST_MESSAGE("other cluster: " << e2);
  BOOST_CHECK(e2.find("cluster") != std::string::npos);
  auto e3 = rogue("test", pki.ours, other_secret);
  BOOST_TEST_MESSAGE("other secret: " << e3);
  BOOST_CHECK(e3.find("MAC") != std::string::npos);
  // A TLS client without a certificate and a plain TCP client get nothing.
  auto no_cert =
      shell_output("timeout 5 openssl s_client -ign_eof -connect 127.0.0.1:" +
                   std::to_string(specs[1].basp) + " </dev/null");
  BOOST_CHECK_MESSAGE(
      no_cert.find("alert certificate required") != std::string::npos,
      "a client without certificate was not refused: " << no_cert);
  {
    client plain{specs[1].basp};
    plain.send("this is neither TLS nor BASP\r\n\r\n");
    BOOST_CHECK(plain.closed_by_server(3s));
  }
  {
    // A CAF node speaking plain BASP gets no handshake.
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.enable-automatic-connections", false);
    caf::actor_system sys{cfg};
    auto t0 = std::chrono::steady_clock::now();
    auto peer = sys.middleman().remote_actor("127.0.0.1", specs[1].basp);
    BOOST_CHECK(!peer);
    BOOST_CHECK_LT(ms(std::chrono::steady_clock::now() - t0), 1000);
    if (!peer)
      BOOST_TEST_MESSAGE("plain BASP: " << sys.render(peer.error()));
  }
  // The cluster works on.
  for (auto& x : specs)
    BOOST_CHECK(links_up(x.http, 5s));
  for (size_t i = 0; i < nodes.size(); ++i)
    for (auto& peer : specs)
      if (peer.name != specs[i].name)
        BOOST_CHECK_EQUAL(link_downs(http(i), peer.name), 0u);
  for (size_t i = 0; i < nodes.size(); ++i)
    BOOST_CHECK_GT(counter_call(http(i), "/counter/after-rogues/inc"), 0);
}

BOOST_AUTO_TEST_CASE(nodes_whose_registries_disagree_do_not_link) {
  // n3 restarts on a data directory where "counter" was created by a
  // migration (a random unique key) instead of derived from its name.
  nodes[2]->kill(SIGKILL);
  auto data = dir + "/n3";
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data);
  std::ofstream{dir + "/m.json"}
      << R"([{"tag": "v1", "new_classes": ["counter"]}])";
  auto out = shell_output("DURABLE_SECRET=" + secret_hex +
                          " " ADMIN_BINARY " --data-dir " + data + " migrate " +
                          dir + "/m.json");
  BOOST_REQUIRE_MESSAGE(out.find("applied v1") != std::string::npos, out);
  nodes[2] = start(2);
  std::string why;
  for (int tries = 0; tries < 50 && why.find("disagree") == std::string::npos;
       ++tries) {
    std::this_thread::sleep_for(100ms);
    auto view = cluster_view(http(0));
    BOOST_REQUIRE(view.is_object());
    for (auto& link : view["links"])
      if (link["node"] == "n3") {
        BOOST_REQUIRE(link["state"] == "down");
        why = link["last_error"].get<std::string>();
      }
  }
  BOOST_TEST_MESSAGE("n1 -> n3: " << why);
  BOOST_CHECK(why.find("namespace \"counter\"") != std::string::npos);
  BOOST_CHECK(why.find("registries disagree") != std::string::npos);
  // Objects of n3 are unreachable, with that reason; the others still work.
  BOOST_CHECK(links_up(http(1), 1s) == false);
  BOOST_CHECK(link_downs(http(0), "n2") == 0u);
}

struct hole_fixture : cluster_fixture {
  hole_fixture() : cluster_fixture(true) {
    // nop
  }
};

BOOST_FIXTURE_TEST_CASE(a_black_holed_peer_stalls_no_other_link, hole_fixture) {
  // Dials to the hole time out on their own thread (dial-timeout, 3 s) and
  // are retried; nothing else waits for them.
  std::string why;
  for (int tries = 0; tries < 80 && why.find("timed out") == std::string::npos;
       ++tries) {
    std::this_thread::sleep_for(100ms);
    why = link_error(0, "hole");
  }
  BOOST_TEST_MESSAGE("n1 -> hole: " << why);
  BOOST_CHECK(why.find("timed out") != std::string::npos);
  // Objects the hole owns fail at once; the others answer.
  int hole_owned = 0;
  for (int n = 0; n < 40; ++n) {
    auto name = "hole-" + std::to_string(n);
    auto t0 = std::chrono::steady_clock::now();
    auto x = counter_call(http(n % 3), "/counter/" + name + "/inc");
    if (owner(name) == 4) {
      ++hole_owned;
      BOOST_CHECK_EQUAL(x, -503);
      BOOST_CHECK_LT(ms(std::chrono::steady_clock::now() - t0), 1000);
    } else {
      BOOST_CHECK_EQUAL(x, 1);
    }
  }
  BOOST_CHECK_GT(hole_owned, 0);
  // A peer that restarts meanwhile is dialed again at once.
  nodes[1]->kill(SIGKILL);
  nodes[1] = start(1);
  auto t0 = std::chrono::steady_clock::now();
  BOOST_CHECK(links_up(http(0), 20s, "hole"));
  BOOST_TEST_MESSAGE("n1 -> n2 back after "
                     << ms(std::chrono::steady_clock::now() - t0) << " ms");
}

BOOST_AUTO_TEST_SUITE_END()
